"""Live catalog updates: new images embedded once per served encoder, added to every served index, persisted.

`CatalogUpdater.apply` (behind `POST /v1/admin/catalog`), one update at a time:
1. decode every upload with the limits and errors of `/v1/search`, and map class names to labels;
2. embed the images once per served encoder (an encoder serving several indexes embeds them once);
3. stage the next version of every served index (`search_core.index_update`: each from the newest update of
   the build an experiment pins; all staged or none), store the images in the catalog's additions folder,
   publish the versions (a failure deletes those already published);
4. swap in a serving state built on those versions (`VariantRegistry.refresh`), and tell the other workers.

Nothing served changes before step 4, so a failure anywhere leaves every index as it was; after it, a search
can return the new images, and since they are published artifacts a restart serves them too. Removing an id
tombstones it in every served index (its pixels stay in the catalog: events and old versions name it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from search_core.artifacts import ArtifactRef
from search_core.catalog import Catalog
from search_core.catalog_additions import NewImage
from search_core.errors import ImageTooLargeError, InvalidImageError
from search_core.images import decode_image
from search_core.index_update import IndexChange, apply_updates, class_label
from serving.config import ServingLimits
from serving.registry import VariantRegistry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name (the new image's id) and bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CatalogUpdateOutcome:
    added: list[str]
    removed: list[str]
    indexes: dict[str, str]  # pinned ref → the version now served
    generation: int


class CatalogUpdater:
    """Applies catalog updates to what a `VariantRegistry` serves; `on_change` runs after each swap."""

    def __init__(
        self, registry: VariantRegistry, limits: ServingLimits, on_change: Callable[[], None] | None = None
    ) -> None:
        self.registry = registry
        self.limits = limits
        self.on_change = on_change
        self._lock = threading.Lock()

    def apply(
        self, uploads: Sequence[Upload], labels: Mapping[str, str], remove: Sequence[str]
    ) -> CatalogUpdateOutcome:
        """Add the uploads (ids = file names, optional class names in `labels`), remove ids; blocking."""
        with self._lock:
            state = self.registry.current
            images = [self._image(upload, state.catalog, labels) for upload in uploads]
            encoders = {key.encoder: engine.encoder for key, engine in state.engines.items()}
            index_encoder = {key.index: key.encoder for key in state.engines}
            pixels = [image.pixels for image in images]
            vectors = {
                ref: encoder.embed(pixels) if images else np.zeros((0, encoder.dim), dtype=np.float32)
                for ref, encoder in encoders.items()
            }
            changes = [
                IndexChange(ArtifactRef.parse(pinned), images, vectors[encoder], list(remove), follow=True)
                for pinned, encoder in sorted(index_encoder.items())
            ]
            apply_updates(self.registry.store, changes, state.catalog, self.registry.additions(state.catalog))
            new_state = self.registry.refresh()
            if self.on_change is not None:
                self.on_change()
        logger.info("catalog update: %d added, %d removed; serving %s", len(images), len(remove), new_state.indexes)
        return CatalogUpdateOutcome(
            [image.image_id for image in images], list(remove), dict(new_state.indexes), new_state.generation
        )

    def _image(self, upload: Upload, catalog: Catalog, labels: Mapping[str, str]) -> NewImage:
        try:
            pixels = decode_image(
                upload.data, max_bytes=self.limits.max_upload_bytes, max_pixels=self.limits.max_pixels
            )
        except (InvalidImageError, ImageTooLargeError) as exc:  # the same error, naming the file
            raise type(exc)(f"{upload.filename}: {exc}") from None
        return NewImage(upload.filename, pixels, class_label(catalog, labels.get(upload.filename)))
