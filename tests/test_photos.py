"""The photo pipeline on images the tests make: stripped, upright, bounded, refused when bad."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot.photos import (
    LONG_SIDE,
    THUMB_SIDE,
    BrokenImage,
    FileTooBig,
    NotAnImage,
    TooManyPixels,
    difference_hash,
    hamming,
    photo_path,
    process_photo,
)
from tests.support.images import GPS_IFD, phone_jpeg, png_bomb


def scene(width: int, height: int) -> Image.Image:
    """A picture with structure: a bright bar across the top third, a gradient below."""
    image = Image.new("RGB", (width, height), (40, 60, 80))
    for y in range(height // 3, height):
        shade = int(255 * y / height)
        image.paste((shade, 100, 255 - shade), (0, y, width, y + 1))
    image.paste((250, 250, 250), (0, 0, width, height // 3))
    return image


def jpeg_with_exif(image: Image.Image, *, orientation: int | None = None) -> bytes:
    return phone_jpeg(image, orientation=orientation, quality=90)


def stored_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jpg"))


def test_gps_exif_never_reaches_a_stored_file(tmp_path: Path) -> None:
    data = jpeg_with_exif(scene(800, 600))
    assert b"PhoneMaker" in data
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)
    stored = process_photo(data, tmp_path)
    files = stored_files(tmp_path)
    assert {f.stem for f in files} == {stored.sha256, stored.thumb_sha256}
    for file in files:
        raw = file.read_bytes()
        assert b"Exif" not in raw
        assert b"PhoneMaker" not in raw
        with Image.open(file) as image:
            assert not image.getexif()
            assert "icc_profile" not in image.info


def test_orientation_6_is_stored_upright(tmp_path: Path) -> None:
    # A camera held upright writes a landscape sensor image tagged "rotate 90° clockwise".
    sensor = scene(600, 400)  # bright bar along the top edge of the sensor image
    stored = process_photo(jpeg_with_exif(sensor, orientation=6), tmp_path)
    assert (stored.width, stored.height) == (400, 600)
    with Image.open(photo_path(tmp_path, stored.sha256)) as upright:
        # After a clockwise turn the sensor's top edge is on the right.
        right = upright.getpixel((upright.width - 5, upright.height // 2))
        left = upright.getpixel((5, upright.height // 2))
        assert isinstance(right, tuple)
        assert isinstance(left, tuple)
        assert sum(right) > 700
        assert sum(left) < 700


def test_long_side_bounded_and_thumbnail_made(tmp_path: Path) -> None:
    out = io.BytesIO()
    scene(4000, 3000).save(out, "JPEG", quality=80)
    stored = process_photo(out.getvalue(), tmp_path)
    assert max(stored.width, stored.height) <= LONG_SIDE
    assert max(stored.width, stored.height) >= LONG_SIDE * 3 // 4
    assert abs(stored.width / stored.height - 4 / 3) < 0.01
    with Image.open(photo_path(tmp_path, stored.thumb_sha256)) as thumb:
        assert max(thumb.size) == THUMB_SIDE


def test_png_and_webp_with_transparency_become_jpeg(tmp_path: Path) -> None:
    for fmt in ("PNG", "WEBP"):
        image = Image.new("RGBA", (300, 200), (255, 0, 0, 0))
        out = io.BytesIO()
        image.save(out, fmt)
        stored = process_photo(out.getvalue(), tmp_path)
        with Image.open(photo_path(tmp_path, stored.sha256)) as result:
            assert result.format == "JPEG"
            # Transparent pixels turn white, not black.
            pixel = result.getpixel((10, 10))
            assert isinstance(pixel, tuple)
            assert min(pixel) > 240


def test_same_upload_is_stored_once(tmp_path: Path) -> None:
    data = jpeg_with_exif(scene(640, 480))
    first = process_photo(data, tmp_path)
    second = process_photo(data, tmp_path)
    assert first == second
    assert len(stored_files(tmp_path)) == 2


@pytest.mark.parametrize("size", [(100_000, 100_000), (8000, 6000)])
def test_too_many_pixels_refused_before_decoding(tmp_path: Path, size: tuple[int, int]) -> None:
    with pytest.raises(TooManyPixels):
        process_photo(png_bomb(*size), tmp_path)
    assert stored_files(tmp_path) == []


def test_truncated_jpeg_is_refused(tmp_path: Path) -> None:
    out = io.BytesIO()
    scene(800, 600).save(out, "JPEG", quality=90)
    data = out.getvalue()
    with pytest.raises(BrokenImage) as caught:
        process_photo(data[: len(data) // 2], tmp_path)
    assert "damaged or incomplete" in caught.value.render(lambda s: s)


@pytest.mark.parametrize(
    "data",
    [b"", b"%PDF-1.7 not a picture", b"GIF89a" + b"\x00" * 40, b"\xff\xd8\xff" + b"\x00" * 10],
)
def test_non_images_are_refused(tmp_path: Path, data: bytes) -> None:
    with pytest.raises((NotAnImage, BrokenImage)):
        process_photo(data, tmp_path)


def test_gif_is_not_accepted(tmp_path: Path) -> None:
    out = io.BytesIO()
    scene(50, 50).save(out, "GIF")
    with pytest.raises(NotAnImage):
        process_photo(out.getvalue(), tmp_path)


def test_over_20_mb_refused(tmp_path: Path) -> None:
    with pytest.raises(FileTooBig):
        process_photo(b"\xff\xd8" + b"\x00" * (20 * 1024 * 1024), tmp_path)


def test_perceptual_hash_sees_the_same_scene() -> None:
    original = scene(800, 600)
    recompressed = Image.open(io.BytesIO(jpeg_with_exif(original.resize((400, 300)))))
    different = Image.new("RGB", (800, 600), (200, 30, 30))
    different.paste((10, 10, 10), (400, 0, 800, 600))
    assert hamming(difference_hash(original), difference_hash(recompressed)) <= 6
    assert hamming(difference_hash(original), difference_hash(different)) > 10
