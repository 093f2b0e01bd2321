"""The photo pipeline: verify, orient, strip metadata, bound, re-encode, thumbnail, hash, store.

Runs in a worker process (Services.offload.photos): Pillow's decoding and encoding block, and
its JPEG encoder holds the GIL.
Every stored file is a fresh encode of the pixels only, so EXIF (GPS!), XMP, ICC and text chunks
of the upload never reach the disk or anyone the photo is forwarded to.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.errors import ShaoziError
from bot.i18n import N_

MAX_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
MAX_PIXELS = 40_000_000
LONG_SIDE = 2048
THUMB_SIDE = 320
JPEG_QUALITY = 85
THUMB_QUALITY = 80
FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
# With draft mode a JPEG is decoded at 1/2, 1/4 or 1/8 scale when that still leaves at least
# this much of the long side, which saves most of the decoding time of a phone photo.
MIN_DRAFT_SIDE = LONG_SIDE * 3 // 4


class PhotoError(ShaoziError):
    message = N_("I could not use this picture. Please send another photo.")


class NotAnImage(PhotoError):
    message = N_("This file is not a picture I can read. Please send a JPEG, PNG or WebP photo.")


class FileTooBig(PhotoError):
    message = N_("This file is larger than {megabytes} MB. Please send a smaller photo.")

    def __init__(self) -> None:
        super().__init__(megabytes=MAX_BYTES // (1024 * 1024))


class TooManyPixels(PhotoError):
    message = N_(
        "This picture has too many pixels (more than {megapixels} megapixels). "
        "Please send an ordinary photo."
    )

    def __init__(self) -> None:
        super().__init__(megapixels=MAX_PIXELS // 1_000_000)


class BrokenImage(PhotoError):
    message = N_("This picture is damaged or incomplete. Please take or send it again.")


@dataclass(frozen=True)
class StoredPhoto:
    sha256: str  # of the stored full-size JPEG; names the file
    thumb_sha256: str
    phash: int  # 64-bit difference hash, unsigned
    width: int
    height: int
    size: int


def photo_path(root: Path, sha256: str) -> Path:
    """Where a content-addressed file lives: two-level fan-out keeps directories small."""
    return root / sha256[:2] / f"{sha256}.jpg"


def _write_once(root: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    path = photo_path(root, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves a half file under a valid name.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
        os.replace(tmp, path)
    return digest


def difference_hash(image: Image.Image) -> int:
    """A 64-bit perceptual hash: brightness gradients of a 9x8 greyscale version."""
    small = image.convert("L").resize((9, 8), Image.Resampling.BOX)
    pixels = small.tobytes()  # mode L: one byte per pixel
    bits = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            bits = (bits << 1) | (left > right)
    return bits


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _flatten(image: Image.Image) -> Image.Image:
    """RGB with transparency over white: JPEG has no alpha channel."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _encode(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or comment: the new file carries pixels only.
    image.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    return out.getvalue()


def _decode(data: bytes) -> Image.Image:
    if len(data) > MAX_BYTES:
        raise FileTooBig()
    try:
        with warnings.catch_warnings():
            # We check the pixel count ourselves, below, before anything is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise TooManyPixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise NotAnImage() from None
    if image.format not in FORMATS:
        raise NotAnImage()
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise TooManyPixels()
    if width < 1 or height < 1:
        raise BrokenImage()
    if image.format == "JPEG":
        long_side = max(width, height)
        if long_side > LONG_SIDE:
            scale = MIN_DRAFT_SIDE / long_side
            image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BrokenImage() from None
    return image


def process_photo(data: bytes, root: Path) -> StoredPhoto:
    """Turn an upload into a stored, stripped, bounded JPEG and its thumbnail."""
    image = _decode(data)
    try:
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError):
        upright = image  # an unreadable orientation tag: keep the pixels as they are
    upright = _flatten(upright)
    if max(upright.size) > LONG_SIDE:
        upright.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    thumb = upright.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BICUBIC, reducing_gap=2.0)
    full_bytes = _encode(upright, JPEG_QUALITY)
    thumb_bytes = _encode(thumb, THUMB_QUALITY)
    return StoredPhoto(
        sha256=_write_once(root, full_bytes),
        thumb_sha256=_write_once(root, thumb_bytes),
        phash=difference_hash(thumb),
        width=upright.width,
        height=upright.height,
        size=len(full_bytes),
    )


def read_photo(root: Path, sha256: str) -> bytes:
    return photo_path(root, sha256).read_bytes()
