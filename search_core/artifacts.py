"""Artifact registry: every trained encoder and built index is a folder with a `manifest.json`.

Layout: `<root>/<kind>/<name>/<version>/` with `kind` in {"encoder", "index"}; referenced as
`name@version` (e.g. `cnn@2`). The manifest records lineage (parent version, the pairs file used),
the training config, offline metrics and the sha256 of every file, so that serving can refuse an
artifact whose files changed after it was evaluated (`ArtifactHashMismatch`).
Writes go to a `*.tmp` folder that is `os.replace`d into place, so a crash never leaves half an artifact.

Manifest schema versions: 1 (no `schema_version` key) and 2, which adds `update`: the lineage of an index
version written by a catalog update (`search_core.index_update`) rather than a build. A version-1 file reads
as version 2 without an update.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config_files.atomic import write_atomic
from search_core.errors import SearchCoreError

ArtifactKind = Literal["encoder", "index"]
KINDS: tuple[ArtifactKind, ...] = ("encoder", "index")
MANIFEST_VERSION: Final = 2
NAME_RULE = "[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"
"""A name that becomes a folder or file name (artifacts, reports): one path component that can neither climb
out of its folder (`..`, `/`) nor hide (a leading dot). Experiment names are a stricter subset."""
_NAME = re.compile(NAME_RULE)
_REF = re.compile(rf"^(?P<name>{NAME_RULE})@(?P<version>[0-9]+)$")


class UnknownArtifactError(SearchCoreError, LookupError):
    """No artifact folder for this `name@version`."""


class ManifestError(SearchCoreError, ValueError):
    """A manifest.json is missing, unreadable or does not match the schema."""


class ArtifactHashMismatch(SearchCoreError, ValueError):
    """A file of an artifact differs from the sha256 its manifest recorded."""


class InvalidNameError(SearchCoreError, ValueError):
    """A name that would become a path but does not follow `NAME_RULE`."""


def path_safe_name(name: str, what: str = "name") -> str:
    """`name` when it follows `NAME_RULE`; `InvalidNameError` naming `what` otherwise.

    Every name that becomes part of a path goes through here (artifact refs, the analysis's report folder), so
    `--name ../../x` cannot write outside the folder it names something in.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        raise InvalidNameError(
            f"{what} {shown} must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


@dataclass(frozen=True, order=True)
class ArtifactRef:
    """`name@version`; versions are positive integers so 'next version' is well defined."""

    name: str
    version: int

    def __post_init__(self) -> None:
        path_safe_name(self.name, "artifact name")
        if not isinstance(self.version, int) or self.version < 0:
            raise InvalidNameError(f"artifact version {self.version!r} must be a non-negative integer")

    @classmethod
    def parse(cls, text: str) -> ArtifactRef:
        match = _REF.match(text.strip())
        if not match:
            raise ManifestError(f"artifact reference {text!r} is not of the form name@version (e.g. cnn@1)")
        return cls(match["name"], int(match["version"]))

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


class PairsUsed(BaseModel):
    """The click-pairs file a training run consumed, pinned by content hash."""

    model_config = ConfigDict(extra="forbid")
    path: str
    sha256: str
    count: int = Field(ge=0)


class IndexUpdate(BaseModel):
    """How an index version differs from its parent: images added and removed by a catalog update.

    The id lists are files of the artifact (`update/added.tsv`: id, sha256 of the image's PNG, label;
    `update/removed.txt`), so the store's hashes pin them with the index files.
    """

    model_config = ConfigDict(extra="forbid")
    parent: str = Field(description="the index `name@version` this one was written from")
    added: int = Field(ge=0)
    removed: int = Field(ge=0)


class Manifest(BaseModel):
    """The artifact contract (`manifest.json`). Serving, experiments and reports read it; only search_core writes it."""

    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1, 2] = MANIFEST_VERSION
    kind: ArtifactKind
    name: str
    version: int = Field(ge=1)
    parent_version: int | None = None
    catalog: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    dim: int = Field(ge=1, description="embedding dimension (encoder output = index input)")
    encoder: str | None = Field(default=None, description="for an index: the encoder `name@version` it embeds with")
    factory: str | None = Field(default=None, description="for an index: the Faiss factory string")
    training: dict[str, Any] = Field(default_factory=dict, description="encoder config / index build params")
    pairs: PairsUsed | None = None
    update: IndexUpdate | None = Field(default=None, description="for an index written by a catalog update")
    metrics: dict[str, float] = Field(default_factory=dict, description="offline metrics, e.g. precision@10")
    files: dict[str, str] = Field(default_factory=dict, description="relative path -> sha256")

    @property
    def ref(self) -> ArtifactRef:
        return ArtifactRef(self.name, self.version)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactStore:
    """The artifacts folder: list, read (with hash check), and atomically write artifacts."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, kind: ArtifactKind, ref: ArtifactRef) -> Path:
        return self.root / kind / ref.name / str(ref.version)

    def exists(self, kind: ArtifactKind, ref: ArtifactRef) -> bool:
        return (self.path(kind, ref) / "manifest.json").is_file()

    def manifest(self, kind: ArtifactKind, ref: ArtifactRef | str, verify: bool = True) -> Manifest:
        """Read a manifest; with `verify`, refuse it if any recorded file's sha256 changed."""
        ref = ArtifactRef.parse(ref) if isinstance(ref, str) else ref
        folder = self.path(kind, ref)
        path = folder / "manifest.json"
        if not path.is_file():
            known = ", ".join(str(m.ref) for m in self.list(kind)) or "none"
            raise UnknownArtifactError(f"unknown {kind} artifact {ref} (no {path}); known: {known}")
        try:
            manifest = Manifest.model_validate_json(path.read_bytes())
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "(root)"
            raise ManifestError(f"corrupt manifest {path}: {loc}: {first['msg']}") from None
        if verify:
            for rel, expected in manifest.files.items():
                file = folder / rel
                if not file.is_file():
                    raise ArtifactHashMismatch(f"{kind} {ref}: file {rel} listed in the manifest is missing")
                if sha256_file(file) != expected:
                    raise ArtifactHashMismatch(f"{kind} {ref}: sha256 of {rel} does not match its manifest")
        return manifest

    def list(self, kind: ArtifactKind | None = None) -> list[Manifest]:
        """Every readable manifest (unverified), sorted by kind, name, version."""
        kinds = (kind,) if kind else KINDS
        found = []
        for k in kinds:
            for path in sorted((self.root / k).glob("*/*/manifest.json")):
                try:
                    found.append(Manifest.model_validate_json(path.read_bytes()))
                except ValidationError:
                    continue
        return sorted(found, key=lambda m: (m.kind, m.name, m.version))

    def next_version(self, kind: ArtifactKind, name: str) -> int:
        versions = [m.version for m in self.list(kind) if m.name == name]
        return max(versions, default=0) + 1

    def write(self, manifest: Manifest, files_dir: Path | None = None) -> Path:
        """Publish `files_dir`'s files plus the manifest (with their sha256 filled in) atomically.

        The caller writes its files into a staging folder (`staging_dir()`), then calls this.
        """
        final = self.path(manifest.kind, manifest.ref)
        staging = files_dir if files_dir is not None else self.staging_dir(manifest.kind, manifest.ref)
        files = {
            str(p.relative_to(staging)): sha256_file(p)
            for p in sorted(staging.rglob("*"))
            if p.is_file() and p.name != "manifest.json"
        }
        manifest = manifest.model_copy(update={"files": files})
        (staging / "manifest.json").write_text(manifest.model_dump_json(indent=2))
        if final.exists():
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, final)
        return final

    def update_metrics(self, kind: ArtifactKind, ref: ArtifactRef | str, metrics: dict[str, float]) -> Manifest:
        """Merge offline metrics into a published manifest (evaluation runs after the build).

        Only manifest.json changes, and it is not among the hashed `files`, so the recorded hashes stay
        valid; they are verified first, so metrics never get attached to files that changed since the build.
        """
        manifest = self.manifest(kind, ref, verify=True)
        updated = manifest.model_copy(update={"metrics": {**manifest.metrics, **metrics}})
        path = self.path(kind, manifest.ref) / "manifest.json"
        write_atomic(path, updated.model_dump_json(indent=2))
        return updated

    def delete(self, kind: ArtifactKind, ref: ArtifactRef) -> None:
        """Remove a published artifact (undoing a multi-artifact write that failed part-way)."""
        shutil.rmtree(self.path(kind, ref), ignore_errors=True)

    def staging_dir(self, kind: ArtifactKind, ref: ArtifactRef) -> Path:
        """An empty `*.tmp` folder beside the final one, to write an artifact's files into."""
        staging = self.path(kind, ref).with_name(f"{ref.version}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        return staging
