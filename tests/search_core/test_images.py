"""Decoding uploads and catalog files: formats, modes, limits, and what a broken image turns into."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from search_core.errors import ImageTooLargeError, InvalidImageError
from search_core.images import decode_image, encode_png, read_image

LIMITS = {"max_bytes": 1_000_000, "max_pixels": 1_000_000}


def _encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_grey_png_decodes_to_2d_uint8() -> None:
    pixels = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    out = decode_image(_encode(Image.fromarray(pixels), "PNG"), **LIMITS)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, pixels)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_colour_formats_decode_to_hxwx3(fmt: str) -> None:
    img = Image.new("RGB", (20, 8), (200, 30, 40))
    out = decode_image(_encode(img, fmt), **LIMITS)
    assert out.shape == (8, 20, 3)
    assert abs(int(out[4, 10, 0]) - 200) < 8  # lossy formats stay close


def test_transparent_pixels_are_composited_on_white() -> None:
    img = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    img.putpixel((0, 0), (10, 20, 30, 255))
    out = decode_image(_encode(img, "PNG"), **LIMITS)
    assert out.shape == (4, 4, 3)
    assert out[0, 0].tolist() == [10, 20, 30]
    assert out[3, 3].tolist() == [255, 255, 255]


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    wide = np.array([[0, 32768, 65535]], dtype=np.uint16)
    out = decode_image(_encode(Image.fromarray(wide), "PNG"), **LIMITS)
    assert out.tolist() == [[0, 127, 255]]


def test_palette_image_becomes_rgb() -> None:
    img = Image.new("RGB", (6, 6), (0, 128, 255)).convert("P")
    out = decode_image(_encode(img, "PNG"), **LIMITS)
    assert out.shape == (6, 6, 3)


def test_not_an_image_is_invalid() -> None:
    with pytest.raises(InvalidImageError, match="not a JPEG, PNG or WebP"):
        decode_image(b"hello, I am a text file", **LIMITS)


def test_gif_is_not_accepted() -> None:
    with pytest.raises(InvalidImageError):
        decode_image(_encode(Image.new("L", (4, 4)), "GIF"), **LIMITS)


def test_truncated_png_is_invalid() -> None:
    data = _encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)), "PNG")
    with pytest.raises(InvalidImageError, match="corrupt"):
        decode_image(data[: len(data) // 2], **LIMITS)


def test_too_many_bytes_is_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError, match="bytes"):
        decode_image(b"\x89PNG" + b"\x00" * 100, max_bytes=50, max_pixels=10)


def test_decompression_bomb_is_refused_from_the_header() -> None:
    bomb = _encode(Image.new("L", (4000, 3000)), "PNG")  # 12 Mpx of zeros compress to a few kB
    assert len(bomb) < LIMITS["max_bytes"]
    with pytest.raises(ImageTooLargeError, match="4000x3000"):
        decode_image(bomb, **LIMITS)


def test_read_image_names_the_file(tmp_path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a jpeg")
    with pytest.raises(InvalidImageError, match="bad.jpg"):
        read_image(bad)
    with pytest.raises(InvalidImageError, match="missing.png"):
        read_image(tmp_path / "missing.png")


def test_png_round_trip() -> None:
    pixels = np.random.default_rng(1).integers(0, 255, (9, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_image(encode_png(pixels), **LIMITS), pixels)


def many_scan_jpeg(scans: int, size: int = 1000) -> bytes:
    """A progressive JPEG whose smallest scan (31 bytes for a flat image) is repeated `scans` times before EOI.

    libjpeg decodes every repeat (with a warning), each costing time in proportion to the image's blocks, so a
    small upload of many scans could hold a worker for minutes (BENCHMARKS.md, "Hostile inputs").
    """
    base = _encode(Image.new("RGB", (size, size), (120, 60, 200)), "JPEG", progressive=True)
    starts = [i for i in range(len(base) - 1) if base[i : i + 2] == b"\xff\xda"]
    bounds = list(zip(starts, [*starts[1:], len(base) - 2], strict=True))
    start, stop = min(bounds, key=lambda b: b[1] - b[0])
    return base[:-2] + base[start:stop] * scans + b"\xff\xd9"


def test_a_jpeg_with_thousands_of_scans_is_refused_before_decoding() -> None:
    data = many_scan_jpeg(6_000)
    assert len(data) < 250_000
    with pytest.raises(InvalidImageError, match="a JPEG of 6010 scans"):
        decode_image(data, max_bytes=8 * 1024 * 1024, max_pixels=16_000_000)


def test_progressive_jpegs_of_ordinary_encoders_decode() -> None:
    img = Image.new("RGB", (64, 48), (10, 200, 30))
    assert decode_image(_encode(img, "JPEG", progressive=True), **LIMITS).shape == (48, 64, 3)
    assert decode_image(many_scan_jpeg(90 - 10, size=32), **LIMITS).shape == (32, 32, 3)  # 90 scans: still taken


def test_catalog_files_get_the_same_scan_limit(tmp_path) -> None:
    path = tmp_path / "hostile.jpg"
    path.write_bytes(many_scan_jpeg(500, size=32))
    with pytest.raises(InvalidImageError, match=f"{path}: a JPEG of 510 scans"):
        read_image(path)
