"""Every bad input is a 4xx with `{"error": {"code", "message"}}` saying what was wrong; never a 500 or a traceback."""

from __future__ import annotations

import io
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from search_core.catalog import Catalog
from serving.errors import MAX_ERRORS, MAX_MESSAGE_CHARS, error_body
from tests.search_core.test_images import many_scan_jpeg
from tests.serving.conftest import ThreadedServer

USER = {"X-User-Id": "tester"}


def assert_error(resp: httpx.Response, status: int, code: str, mentions: str = "") -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert "Traceback" not in resp.text
    error = resp.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    assert mentions.lower() in error["message"].lower(), error
    return error


def upload(client: TestClient, data: bytes, headers: dict[str, str] | None = None, **form: str) -> httpx.Response:
    return client.post("/v1/search", files={"image": ("q.png", data, "image/png")}, data=form, headers=headers or USER)


def png_bytes(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (width, height)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("headers", "mentions"),
    [
        ({"X-Attr-Country": "x" * 10_240}, "the value has 10240 characters, at most 256"),
        ({f"X-Attr-A{i}": "1" for i in range(1000)}, "more than 20 X-Attr-* headers"),
        ({"X-Attr-" + "n" * 100: "1"}, "the attribute name has 100 characters, at most 64"),
        ({"X-Attr-Plat.form": "web"}, "letters, digits, '-' and '_' only"),
    ],
)
def test_attribute_headers_beyond_the_bounds_are_refused(
    client: TestClient, app: FastAPI, catalog: Catalog, headers: dict[str, str], mentions: str
) -> None:
    logged = app.state.service.sink.counters()["logged"]
    resp = client.post("/v1/search", json={"image_id": catalog.query_ids[0]}, headers={**USER, **headers})
    assert_error(resp, 431, "invalid_attributes", mentions)
    assert client.get("/v1/assignment", params={"user_id": "t"}, headers=headers).status_code == 431
    assert app.state.service.sink.counters()["logged"] == logged  # nothing served, nothing logged


def test_not_an_image(client: TestClient) -> None:
    assert_error(upload(client, b"this is not an image at all"), 422, "invalid_image")


def test_truncated_image(client: TestClient, catalog: Catalog) -> None:
    png = catalog.png(catalog.query_ids[0])
    assert_error(upload(client, png[: len(png) // 2]), 422, "invalid_image")


def test_image_over_the_byte_limit(client: TestClient) -> None:
    big = b"\x89PNG\r\n\x1a\n" + bytes(300 * 1024)  # over max_upload_bytes (256 KiB), under the body limit
    assert_error(upload(client, big), 413, "image_too_large")


def test_body_over_the_request_limit(client: TestClient) -> None:
    assert_error(upload(client, bytes(2 * 1024 * 1024)), 413, "request_too_large")


def test_decompression_bomb_is_refused_by_pixel_count(client: TestClient) -> None:
    bomb = png_bytes(2000, 2000)  # 4 Mpx > max_pixels 1 Mpx, yet a few kB on the wire
    assert len(bomb) < 64 * 1024
    assert_error(upload(client, bomb), 413, "image_too_large")


def test_wrong_content_type(client: TestClient) -> None:
    resp = client.post("/v1/search", content=b"image_id=x", headers={**USER, "Content-Type": "text/plain"})
    assert_error(resp, 415, "unsupported_media_type", "text/plain")


def test_unknown_image_id(client: TestClient) -> None:
    resp = client.post("/v1/search", json={"image_id": "no/such/image.png"}, headers=USER)
    assert_error(resp, 404, "unknown_image", "no/such/image.png")


def test_missing_user_id(client: TestClient, catalog: Catalog) -> None:
    resp = client.post("/v1/search", json={"image_id": catalog.query_ids[0]})
    assert_error(resp, 422, "invalid_request", "x-user-id")


@pytest.mark.parametrize("k", [0, 101, -3, "many"])
def test_k_out_of_range(client: TestClient, catalog: Catalog, k: object) -> None:
    resp = client.post("/v1/search", json={"image_id": catalog.query_ids[0], "k": k}, headers=USER)
    assert_error(resp, 422, "invalid_request", "k")


def test_k_out_of_range_in_an_upload(client: TestClient, catalog: Catalog) -> None:
    assert_error(upload(client, catalog.png(catalog.query_ids[0]), k="0"), 422, "invalid_request", "k")


def test_upload_without_an_image_field(client: TestClient) -> None:
    resp = client.post("/v1/search", files={"photo": ("q.png", b"x", "image/png")}, headers=USER)
    assert_error(resp, 422, "invalid_request", "image")


def test_unknown_json_field(client: TestClient, catalog: Catalog) -> None:
    resp = client.post("/v1/search", json={"image_id": catalog.query_ids[0], "kk": 3}, headers=USER)
    assert_error(resp, 422, "invalid_request", "kk")


@pytest.mark.parametrize("path", ["/v1/search", "/v1/events"])
def test_malformed_json(client: TestClient, path: str) -> None:
    resp = client.post(path, content=b'{"image_id": ', headers={**USER, "Content-Type": "application/json"})
    assert_error(resp, 400, "malformed_json")


def click(**changes: Any) -> dict[str, Any]:
    return {
        "event_type": "click",
        "request_id": str(uuid.uuid4()),
        "result_image_id": "a/1.png",
        "position": 1,
        **changes,
    }


def test_event_with_malformed_request_id(client: TestClient) -> None:
    assert_error(
        client.post("/v1/events", json=click(request_id="abc"), headers=USER), 422, "invalid_request", "request_id"
    )


def test_unknown_event_type(client: TestClient) -> None:
    resp = client.post("/v1/events", json=click(event_type="purchase"), headers=USER)
    assert_error(resp, 422, "invalid_request", "event_type")


def test_dwell_without_duration(client: TestClient) -> None:
    resp = client.post("/v1/events", json=click(event_type="dwell"), headers=USER)
    assert_error(resp, 422, "invalid_request", "dwell_ms")


def test_oversized_batch(client: TestClient) -> None:
    resp = client.post("/v1/events", json={"events": [click() for _ in range(21)]}, headers=USER)
    assert_error(resp, 413, "batch_too_large", "20")


def test_events_wrong_content_type(client: TestClient) -> None:
    resp = client.post("/v1/events", content=b"click", headers={**USER, "Content-Type": "text/plain"})
    assert_error(resp, 415, "unsupported_media_type")


def test_unknown_route_and_method(client: TestClient) -> None:
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")
    assert_error(client.get("/v1/search"), 405, "method_not_allowed")


@pytest.fixture(scope="module")
def live(app: FastAPI) -> Iterator[ThreadedServer]:
    with ThreadedServer(app) as server:
        yield server


def _urllib_post(url: str, body: bytes | Iterator[bytes], **headers: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers={**USER, "Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, orjson.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read())


@pytest.mark.parametrize(("path", "size"), [("/v1/events", 9 * 1024 * 1024), ("/v1/search", 20 * 1024 * 1024)])
def test_a_client_sending_the_whole_oversized_body_reads_the_413(live: ThreadedServer, path: str, size: int) -> None:
    """Regression: urllib (`Connection: close`, no `Expect: 100-continue`) got a connection reset instead."""
    status, body = _urllib_post(live.url + path, b"x" * size)
    assert (status, body["error"]["code"]) == (413, "request_too_large")


def test_a_chunked_oversized_body_reads_the_413(live: ThreadedServer) -> None:
    chunks = (b"x" * 65_536 for _ in range(48))  # 3 MiB, no Content-Length: FastAPI's limit stops the read
    status, body = _urllib_post(live.url + "/v1/events", chunks, **{"Transfer-Encoding": "chunked"})
    assert (status, body["error"]["code"]) == (413, "request_too_large")


def test_an_early_refusal_of_a_large_body_reaches_the_client(live: ThreadedServer) -> None:
    """A 415 is decided from the headers alone; the unread 900 KB body must not turn it into a reset."""
    status, body = _urllib_post(live.url + "/v1/events", b"x" * 900_000, **{"Content-Type": "text/plain"})
    assert (status, body["error"]["code"]) == (415, "unsupported_media_type")


def test_expect_100_continue_gets_the_413_without_sending_the_body(live: ThreadedServer) -> None:
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 9437184\r\nExpect: 100-continue\r\n\r\n")  # fmt: skip
        reply = sock.recv(65_536)
    assert reply.startswith(b"HTTP/1.1 413 ") and b"request_too_large" in reply


def test_unknown_image_names_neither_the_catalog_path_nor_all_of_the_id(
    client: TestClient, catalog: Catalog, catalog_dir: Path
) -> None:
    """Regression: the message held the folder catalog's absolute path and echoed up to 64 KB of the id."""
    long_id = "z" * 60_000
    for resp in (client.get(f"/v1/images/{long_id}"),
                 client.post("/v1/search", json={"image_id": "no/such.png"}, headers=USER)):  # fmt: skip
        assert_error(resp, 404, "unknown_image", "is not in the catalog")
        assert str(catalog_dir) not in resp.text and catalog.name not in resp.text
        assert len(resp.content) < 1_000


def test_an_error_list_echoes_at_most_max_errors(client: TestClient) -> None:
    """Regression: a 0.9 MB event with 60,000 unknown keys earned a 2.4 MB list of errors."""
    event = click(**{f"unk_{i:05d}": 1 for i in range(60_000)})
    body = orjson.dumps(event)
    assert 0.8e6 < len(body) < 1024 * 1024  # under the body limit
    resp = client.post("/v1/events", content=body, headers={**USER, "Content-Type": "application/json"})
    error = assert_error(resp, 422, "invalid_request")
    assert len(error["errors"]) == MAX_ERRORS + 1 and error["errors"][-1] == "… and 59,950 more"
    assert len(resp.content) < 10_000


def test_error_messages_are_capped() -> None:
    body = error_body("x", "m" * 100_000, ["e" * 10_000])["error"]
    assert len(body["message"]) <= MAX_MESSAGE_CHARS and body["message"].endswith("(100,000 characters)")
    assert len(body["errors"][0]) <= MAX_MESSAGE_CHARS


def test_a_jpeg_of_thousands_of_scans_is_a_quick_422(client: TestClient) -> None:
    """Regression: a 243 KB progressive JPEG of 6,000 scans took over 6 s of a worker to decode."""
    data = many_scan_jpeg(6_000)
    assert len(data) < 256 * 1024  # under this app's upload limit
    resp = client.post("/v1/search", files={"image": ("q.jpg", data, "image/jpeg")}, headers=USER)
    assert_error(resp, 422, "invalid_image", "6010 scans")
