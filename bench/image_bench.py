"""Image pipeline timings: encode N images with a cold cache, then again with a warm one.

    python bench/image_bench.py [--images 100] [--photos] [--sample]

Without --photos the images are those of the corpus generator (1200 × 800 flat shapes); with
--photos they are 4000 × 3000 photo-like JPEGs (gradients and grain, as from a phone) with a
GPS EXIF block. --sample also reports the bytes of the sample issue's originals and copies.
Prints wall time and the encoders' summed CPU time for each run; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from corpus import generate  # noqa: E402
from PIL import ExifTags, ImageFilter  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from flash import images  # noqa: E402
from flash.build import images_of  # noqa: E402
from flash.validate import load_corpus  # noqa: E402


class Folder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def link(self, relative: str, source: Path) -> None:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        os.link(source, target)


def photo(path: Path, rng: random.Random, grain: PILImage.Image) -> None:
    """Smooth shapes plus sensor grain: encodes like a real photo, unlike flat colours."""
    small = PILImage.new("RGB", (40, 30))
    small.putdata([tuple(rng.randint(0, 255) for _ in range(3)) for _ in range(40 * 30)])
    image = small.resize((4000, 3000), PILImage.Resampling.BICUBIC)
    image = PILImage.blend(image, grain, 0.12)
    exif = PILImage.Exif()
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)}
    image.save(path, "JPEG", quality=90, exif=exif)


def run(source: Path, out: Path) -> tuple[float, images.ImageReport, float]:
    start = time.perf_counter()
    corpus, report = load_corpus(source)
    if corpus is None:
        raise SystemExit("\n".join(str(d) for d in report.errors))
    checked = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    result = images.publish(images_of(corpus).values(), Folder(out), source)
    return time.perf_counter() - start, result, checked


def sizes(source: Path, out: Path) -> None:
    corpus, _ = load_corpus(source)
    assert corpus is not None
    print(f"\n{'image':<34} {'original':>10}  copies (bytes)")
    total_in = total_out = 0
    for image in images_of(corpus).values():
        original = image.source.stat().st_size
        copies = {name: (out / url.lstrip("/")).stat().st_size
                  for name, url in images.outputs(image).items()}
        total_in += original
        total_out += sum(copies.values())
        listed = "  ".join(f"{name} {size}" for name, size in sorted(
            copies.items(), key=lambda kv: (kv[0].split(".")[1], int(kv[0].split(".")[0]))))
        print(f"{image.key[-34:]:<34} {original:>10}  {listed}")
    print(f"{'total':<34} {total_in:>10}  {total_out} in all copies")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--photos", action="store_true")
    parser.add_argument("--sample", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flash-images-"))
    try:
        source = work / "issues"
        per_issue = 3  # the generator gives an image to articles 1, 3 and 5 of 6
        generate(source, issues=-(-args.images // per_issue), articles=6, seed=3, images=True,
                 min_words=40, max_words=80)
        found = sorted(source.rglob("photo-*.jpg"))
        if args.photos:
            rng = random.Random(5)
            grain = PILImage.effect_noise((4000, 3000), 40).convert("RGB").filter(
                ImageFilter.DETAIL)
            for path in found[:args.images]:
                photo(path, rng, grain)
        for extra in found[args.images:]:
            extra.write_bytes((found[0]).read_bytes())  # same content: one cache entry
        kind = "4000 × 3000 photos" if args.photos else "1200 × 800 generated images"
        print(f"{args.images} distinct {kind}, {os.cpu_count()} cores")
        cold, report, checked = run(source, work / "out")
        print(f"cold cache: {cold:6.2f} s wall ({checked:.2f} s reading and checking), "
              f"{report.encoded} encoded, {report.files} files, "
              f"{report.seconds_encoding:.2f} s CPU in encoders")
        warm, report, checked = run(source, work / "out")
        print(f"warm cache: {warm:6.2f} s wall ({checked:.2f} s reading and checking), "
              f"{report.encoded} encoded, {report.files} files")
        if args.sample:
            sample = ROOT / "issues"
            run(sample, work / "sample")
            sizes(sample, work / "sample")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
