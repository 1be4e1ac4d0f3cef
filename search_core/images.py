"""Image decoding and preprocessing: bytes or files in, uint8 arrays out; arrays in, model-sized batches out.

Arrays are uint8 `HxW` (grey) or `HxWx3` (RGB), whatever the source format: palette, 16-bit, CMYK and
alpha images are converted here once, so nothing downstream has to know about modes. Transparent
pixels are composited on white (product photos with a cut-out background are meant to be seen on white).
Only JPEG, PNG and WebP are decoded: the formats a catalog or an upload has any business using, and
a smaller attack surface for uploads than every format Pillow knows.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from search_core.errors import ImageTooLargeError, InvalidImageError

FORMATS = ("JPEG", "PNG", "WEBP")
FILE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
DEFAULT_MAX_PIXELS = 64_000_000
"""Pixel limit for catalog files (uploads pass their own, smaller one)."""
MAX_JPEG_SCANS = 100
"""A progressive JPEG is decoded once per scan, and nothing in the format bounds their number: a file far under
the upload limit holds thousands of repeats of a small scan, a minute of decoding (BENCHMARKS.md, "Hostile
inputs"). Encoders write 1 (baseline) to ~10 (libjpeg's progressive script; optimised scripts a few more)."""
_SOS = b"\xff\xda"


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Decode an uploaded image; the size limits are checked before any pixel is decoded.

    Raises `ImageTooLargeError` when `data` is over `max_bytes` or the header announces more than
    `max_pixels` pixels (a tiny PNG can claim 50 000 x 50 000), `InvalidImageError` otherwise.
    """
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"image of {len(data)} bytes is over the limit of {max_bytes} bytes")
    return _decode(data, "uploaded image", max_pixels)


def read_image(path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image file (JPEG, PNG or WebP) into a uint8 array; `InvalidImageError` names the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidImageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return _decode(data, str(path), max_pixels)


def _decode(data: bytes, what: str, max_pixels: int) -> np.ndarray:
    """Refuse what would cost too much to decode (pixels, JPEG scans) from the headers and bytes, then decode."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise ImageTooLargeError(f"{what}: {width}x{height} pixels is over the limit of {max_pixels} pixels")
            # Every scan starts with an SOS marker, which entropy-coded data cannot contain (a 0xFF there is
            # followed by 0x00 or a restart marker), so counting them over-counts only markers inside metadata.
            if img.format == "JPEG" and (scans := data.count(_SOS)) > MAX_JPEG_SCANS:
                raise InvalidImageError(f"{what}: a JPEG of {scans} scans (at most {MAX_JPEG_SCANS} are decoded)")
            img.load()
            return to_array(ImageOps.exif_transpose(img))
    except (ImageTooLargeError, InvalidImageError):
        raise
    except UnidentifiedImageError:
        raise InvalidImageError(f"{what}: not a JPEG, PNG or WebP image") from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{what}: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow's truncated / corrupt-data errors
        raise InvalidImageError(f"{what}: corrupt image data ({exc})") from None


def to_array(img: Image.Image) -> np.ndarray:
    """A Pillow image as uint8 `HxW` (grey modes) or `HxWx3` (everything else)."""
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        wide = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") else max(float(wide.max()), 1.0)
        return np.clip(wide * (255.0 / top), 0, 255).astype(np.uint8)
    target = "L" if img.mode in GREY_MODES else "RGB"
    if img.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in img.info:
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img.convert("RGBA"))
    return np.asarray(img.convert(target))


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 `HxW` or `HxWx3` array (what the UI shows)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()
