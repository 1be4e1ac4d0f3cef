"""The web page's sample images: training images only, so a click on one can never become a click pair that
carries a test (query) or validation image into training."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from search_core.catalog import Catalog


def test_samples_are_training_images_only(client: TestClient, catalog: Catalog) -> None:
    assert catalog.query_ids and catalog.validation_ids  # both held-out splits exist in this catalog
    shown: set[str] = set()
    for _ in range(20):
        page = client.get("/")
        assert page.status_code == 200
        shown |= set(re.findall(r'class="sample" data-image-id="([^"]+)"', page.text))
    assert len(shown) > 24 and shown <= set(catalog.train_ids)
