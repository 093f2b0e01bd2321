"""Small images the tests make: distinct scenes, EXIF with GPS, broken files."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def scene(width: int = 640, height: int = 480, seed: int = 1) -> Image.Image:
    """A picture with structure, different for each seed (so perceptual hashes differ)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (rng.randrange(256), 60, 80))
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = (
            min(width, x0 + rng.randrange(40, width)),
            min(height, y0 + rng.randrange(40, height)),
        )
        shade = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        image.paste(shade, (x0, y0, x1, y1))
    return image


def mosaic(width: int = 1280, height: int = 960, seed: int = 1) -> Image.Image:
    """A picture of 16 × 12 random colours blended into each other, different for each seed.
    Unlike ``scene``, whose large plain areas make many seeds look alike to the perceptual hash,
    two seeds are in practice never taken for the same photo (as a report's duplicate search
    would)."""
    rng = random.Random(seed)
    tiles = Image.new("RGB", (16, 12))
    tiles.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(192)]
    )
    return tiles.resize((width, height), Image.Resampling.BICUBIC)


def jpeg(width: int = 640, height: int = 480, seed: int = 1, *, gps: bool = True) -> bytes:
    """A JPEG as a phone makes it: with a maker name and the GPS position in EXIF."""
    return phone_jpeg(scene(width, height, seed), gps=gps)


def phone_jpeg(
    image: Image.Image, *, gps: bool = True, orientation: int | None = None, quality: int = 88
) -> bytes:
    """``image`` saved as a phone saves it: a maker name, the GPS position and the orientation
    (when given) in EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if gps:
        ifd = exif.get_ifd(GPS_IFD)
        ifd[1] = "N"
        ifd[2] = (30.0, 15.0, 1.5)  # GPSLatitude
        ifd[3] = "E"
        ifd[4] = (120.0, 9.0, 2.5)
    if orientation is not None:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=quality)
    return out.getvalue()


def png(width: int = 320, height: int = 240, seed: int = 1) -> bytes:
    out = io.BytesIO()
    scene(width, height, seed).save(out, "PNG")
    return out.getvalue()


def truncated_jpeg(seed: int = 1) -> bytes:
    data = jpeg(800, 600, seed)
    return data[: len(data) // 2]


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG that claims a huge size: a header, a tiny IDAT and the end."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + chunk(b"IEND", b"")
    )


def has_metadata(data: bytes) -> bool:
    """True when a stored or forwarded image still carries EXIF, GPS or a maker note."""
    if b"Exif" in data or b"PhoneMaker" in data:
        return True
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif()) or "icc_profile" in image.info
