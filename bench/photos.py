#!/usr/bin/env python3
"""Photo pipeline against a plain Pillow decode-and-save of the same 12-megapixel JPEG.

Prints the median of each and their ratio; target: ratio below 1.0.
Run from the repository root: python bench/photos.py [--runs N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.photos import process_photo


def phone_photo(width: int = 4000, height: int = 3000) -> bytes:
    """A 12 MP JPEG with texture (noise, edges) so the codec works as on a real photo."""
    noise = Image.effect_noise((width // 4, height // 4), 60).resize((width, height))
    base = Image.merge(
        "RGB",
        (noise, noise.rotate(90, expand=False), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
    )
    base = base.filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # portrait shot, as phones store them
    base.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def plain(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    image.load()
    image.save(io.BytesIO(), "JPEG", quality=85)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    data = phone_photo()
    print(f"input: 4000x3000 JPEG, {len(data) / 1e6:.1f} MB, {args.runs} runs each")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        plain(data)  # warm up both paths once
        process_photo(data, root)
        pipeline_ms = median_ms(lambda: process_photo(data, root), args.runs)
        plain_ms = median_ms(lambda: plain(data), args.runs)
    print(
        f"pipeline (verify, draft decode, orient, strip, bound 2048, thumbnail, hash, store): "
        f"{pipeline_ms:.1f} ms"
    )
    print(f"plain Pillow open + full decode + save: {plain_ms:.1f} ms")
    print(
        f"pipeline_ms={pipeline_ms:.1f} plain_ms={plain_ms:.1f} ratio={pipeline_ms / plain_ms:.2f}"
    )


if __name__ == "__main__":
    main()
