"""GET /v1/images/{image_id}: PNG bytes with caching headers; ids with `/` work; unknown ids are 404."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from search_core.catalog import Catalog
from serving.routes.search import image_url


def test_image_is_a_cacheable_png(client: TestClient, catalog: Catalog) -> None:
    image_id = catalog.ids[0]
    assert "/" in image_id
    resp = client.get(f"/v1/images/{image_id}")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/png"
    assert "immutable" in resp.headers["cache-control"] and "max-age=" in resp.headers["cache-control"]
    assert resp.content == catalog.png(image_id)
    assert Image.open(io.BytesIO(resp.content)).size == (28, 28)
    again = client.get(f"/v1/images/{image_id}", headers={"If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_etags_differ_between_images(client: TestClient, catalog: Catalog) -> None:
    a, b = (client.get(f"/v1/images/{i}").headers["etag"] for i in catalog.ids[:2])
    assert a != b


def test_unknown_image_is_404(client: TestClient) -> None:
    resp = client.get("/v1/images/missing/nothing.png")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "unknown_image"


@pytest.mark.parametrize("image_id", ["fmnist-train-000001", "dir/x~y_z-1.PNG", "a b/c.png", "é/ü", "100%", "a?b#c"])
def test_result_urls_quote_exactly_what_needs_quoting(image_id: str) -> None:
    assert image_url(image_id) == "/v1/images/" + quote(image_id, safe="/")
