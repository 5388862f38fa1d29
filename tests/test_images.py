"""The image pipeline: upright, metadata-free, resized copies in WebP and JPEG/PNG, a cache that
re-encodes nothing twice, and a clear French error (or correct handling) for every odd file."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import parse, settings_for, write_tree
from PIL import ExifTags, ImageCms, ImageDraw
from PIL import Image as PILImage
from site_server import chromium, serve

from flash import images
from flash.build import build, images_of
from flash.diagnostics import ContentError
from flash.paths import image_cache_dir
from flash.validate import load_corpus

REGISTRIES = {
    "organisations.yaml": "mesolia:\n  name: Mésolia\n  colour: \"#00a19a\"\n",
    "themes.yaml": "enfance:\n  label: Enfance\n",
}
ISSUE = 'number: 7\ndate: "2021-03"\ncover:\n  src: images/couverture.png\n  alt: Un logo\n'
RED, BLUE = (220, 20, 20), (20, 40, 220)


def article(image: str | None, body: str = "Un texte.\n") -> str:
    front = "title: Un jardin\norganisation: mesolia\nsummary: Résumé.\n"
    if image:
        front += f"image:\n  src: {image}\n  alt: Des tomates\n"  # src on line 6
    return f"---\n{front}---\n\n{body}"


# --- generated files -----------------------------------------------------------------------------

def encoded(image: PILImage.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def two_halves(size: tuple[int, int], mode: str = "RGB") -> PILImage.Image:
    """Left half red, right half blue: shows where a rotation put things."""
    image = PILImage.new(mode, size, RED)
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0], size[1]), fill=BLUE)
    return image


def phone_photo(size: tuple[int, int] = (2400, 1600), orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: sideways pixels plus an orientation tag, a GPS position, XMP,
    a comment and an ICC profile."""
    exif = PILImage.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Téléphone"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)}
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encoded(two_halves(size), "JPEG", quality=90, exif=exif, comment=b"chez Mme Martin",
                   xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">GPSLatitude 48,51</x:xmpmeta>',
                   icc_profile=srgb)


def transparent_png() -> bytes:
    image = PILImage.new("RGBA", (1000, 500), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((100, 50, 900, 450), fill=(20, 60, 200, 255))
    return encoded(image, "PNG")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def huge_png(width: int, height: int) -> bytes:
    """A few hundred bytes that claim width × height pixels: a decompression bomb."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + png_chunk(b"IEND", b""))


def animated(fmt: str) -> bytes:
    frames = [PILImage.new("RGB", (640, 400), colour) for colour in (RED, BLUE, (0, 160, 0))]
    return encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=200, loop=0)


def palette_png_with_transparency() -> bytes:
    image = PILImage.new("P", (600, 300), 0)
    image.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    ImageDraw.Draw(image).rectangle((300, 0, 600, 300), fill=1)
    return encoded(image, "PNG", transparency=0)


def sixteen_bit_png() -> bytes:
    return encoded(PILImage.new("I;16", (640, 480), 32768), "PNG")


def cmyk_jpeg() -> bytes:
    return encoded(PILImage.new("CMYK", (800, 600), (0, 230, 230, 0)), "JPEG", quality=92)


def grey_jpeg() -> bytes:
    return encoded(PILImage.new("L", (1000, 700), 90), "JPEG")


def make_site(root: Path, files: dict[str, str | bytes]) -> Path:
    return write_tree(root / "issues", {
        **REGISTRIES, "n7/issue.yaml": ISSUE, "n7/images/couverture.png": transparent_png(),
        **files})


def built(source: Path) -> Path:
    out = source.parent / "_site"
    build(source, out, settings_for())
    return out


def site_file(site: Path, url: str) -> Path:
    assert url.startswith("/media/"), url
    return site / url.lstrip("/")


def assert_no_metadata(path: Path) -> None:
    data = path.read_bytes()
    for secret in (b"Exif\0\0", b"xmpmeta", b"GPSLatitude", b"Mme Martin", b"http://ns.adobe"):
        assert secret not in data, (path.name, secret)
    with PILImage.open(path) as image:
        assert not image.getexif(), path.name
        assert not set(image.info) & {"exif", "xmp", "icc_profile", "comment",
                                       "XML:com.adobe.xmp"}, (path.name, image.info)


# --- pure functions ------------------------------------------------------------------------------

def test_widths_never_enlarge() -> None:
    assert images.widths_for(2400, (480, 960, 1600)) == (480, 960, 1600)
    assert images.widths_for(1600, (480, 960, 1600)) == (480, 960, 1600)
    assert images.widths_for(700, (480, 960, 1600)) == (480, 700)
    assert images.widths_for(300, (480, 960, 1600)) == (300,)
    assert images.scaled_height(2400, 1600, 960) == 640


# --- a whole site --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def photo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    body = ("Un texte.\n\n![Les bacs du jardin](images/bacs.jpg \"Au printemps\")\n\n"
            "Suite du texte.\n")
    source = make_site(tmp_path_factory.mktemp("photos"), {
        "n7/01-jardin.md": article("images/telephone.jpg", body),
        "n7/02-petit.md": article("images/petit.jpg"),
        "n7/images/telephone.jpg": phone_photo(),
        "n7/images/bacs.jpg": encoded(two_halves((700, 350)), "JPEG"),
        "n7/images/petit.jpg": encoded(two_halves((300, 200)), "JPEG"),
    })
    return built(source)


def pictures(page_path: Path, selector: str) -> list:
    return parse(page_path).cssselect(selector)


def test_article_page_uses_picture_with_webp_and_jpeg_srcsets(photo_site: Path) -> None:
    page = photo_site / "numeros/7/jardin/index.html"
    [top], [body] = pictures(page, ".figure picture"), pictures(page, ".prose picture")
    source, img = top.cssselect("source")[0], top.cssselect("img")[0]
    assert source.get("type") == "image/webp"
    webp = [item.split() for item in source.get("srcset").split(", ")]
    jpeg = [item.split() for item in img.get("srcset").split(", ")]
    # The phone photo is 2400 × 1600 stored sideways: displayed 1600 × 2400.
    assert [w for _, w in webp] == [w for _, w in jpeg] == ["480w", "960w", "1600w"]
    assert all(url.endswith(".webp") for url, _ in webp)
    assert all(url.endswith(".jpg") for url, _ in jpeg)
    assert (img.get("width"), img.get("height")) == ("1600", "2400")
    assert img.get("sizes") == source.get("sizes") and "42rem" in img.get("sizes")
    assert img.get("alt") == "Des tomates"
    assert img.get("loading") is None  # first screen: not lazy
    for url, width in webp + jpeg:
        with PILImage.open(site_file(photo_site, url)) as copy:
            assert copy.format == ("WEBP" if url.endswith(".webp") else "JPEG")
            assert copy.width == int(width[:-1])
            assert copy.height == copy.width * 3 // 2
    # The body image: 700 px wide gives 480 and 700, lazy, alt and title kept.
    body_img = body.cssselect("img")[0]
    assert [item.split()[1] for item in body_img.get("srcset").split(", ")] == ["480w", "700w"]
    assert (body_img.get("width"), body_img.get("height")) == ("700", "350")
    assert body_img.get("alt") == "Les bacs du jardin"
    assert body_img.get("title") == "Au printemps"
    assert (body_img.get("loading"), body_img.get("decoding")) == ("lazy", "async")
    assert body.getparent().tag == "p" and body.getparent().getparent().get("class") == "prose"


def test_cards_and_cover(photo_site: Path) -> None:
    home = parse(photo_site / "index.html")
    cover = home.cssselect(".hero__cover img")[0]
    assert cover.get("loading") is None
    # Transparent cover: PNG fallback, WebP keeps the alpha channel.
    assert all(item.split()[0].endswith(".png") for item in cover.get("srcset").split(", "))
    for item in cover.get("srcset").split(", ") + cover.getparent().cssselect("source")[0].get(
            "srcset").split(", "):
        with PILImage.open(site_file(photo_site, item.split()[0])) as copy:
            assert copy.mode == "RGBA" and copy.getpixel((0, 0))[3] == 0
    cards = home.cssselect(".card__media img")
    assert cards and all(img.get("loading") == "lazy" for img in cards)
    small = next(img for img in cards if img.get("width") == "300")
    assert small.get("srcset").split()[1] == "300w"  # never enlarged


def test_orientation_applied_and_metadata_stripped(photo_site: Path) -> None:
    copies = sorted((photo_site / "media").glob("telephone-*"))
    assert len(copies) == 8  # 480, 960, 1600 × (WebP, JPEG) + 600 and 1200 JPEG for the email
    for path in copies:
        assert_no_metadata(path)
        with PILImage.open(path) as copy:
            rgb = copy.convert("RGB")
            width, height = rgb.size
            assert height > width
            # Orientation 6 turns the picture a quarter clockwise: the left half goes on top.
            top, bottom = rgb.getpixel((width // 2, 5)), rgb.getpixel((width // 2, height - 5))
            assert top[0] > 180 and top[2] < 80, (path.name, top)
            assert bottom[2] > 180 and bottom[0] < 80, (path.name, bottom)


def test_email_variants(photo_site: Path) -> None:
    source = photo_site.parent / "issues"
    corpus, _ = load_corpus(source)
    assert corpus is not None
    photo = corpus.issues[0].articles[0].image
    small, large = images.email_variants(photo)
    assert (small.width, small.height, large.width, large.height) == (600, 900, 1200, 1800)
    for variant in (small, large):
        assert variant.url.startswith("/media/") and variant.url.endswith(".jpg")
        with PILImage.open(site_file(photo_site, variant.url)) as copy:
            assert (copy.format, copy.size) == ("JPEG", (variant.width, variant.height))
    little = corpus.issues[0].articles[1].image
    assert [(v.width, v.height) for v in images.email_variants(little)] == [(300, 200)] * 2


def test_urls_change_with_content_and_recipe(photo_site: Path) -> None:
    corpus, _ = load_corpus(photo_site.parent / "issues")
    assert corpus is not None
    photo = corpus.issues[0].articles[0].image
    first = images.responsive(photo).webp[0].url
    assert first.startswith("/media/telephone-480.") and first.endswith(".webp")
    other = images.Recipe(webp_quality=50)
    assert images.responsive(photo, other).webp[0].url != first
    assert images.tag_of(photo) in first


# --- the cache ------------------------------------------------------------------------------------

class Folder:
    """The least a publishing target does (flash.output.Staging does more)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def link(self, relative: str, source: Path) -> None:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        os.link(source, target)


def cache_state(cache: Path) -> dict[str, tuple[int, int]]:
    """Encoded copies and image facts (seen/ is only a stat index, rewritten when a file is)."""
    return {p.relative_to(cache).as_posix(): (p.stat().st_mtime_ns, p.stat().st_ino)
            for p in cache.rglob("*") if p.is_file() and not p.is_relative_to(cache / "seen")}


def test_rebuild_encodes_nothing_that_did_not_change(tmp_path: Path) -> None:
    source = make_site(tmp_path, {
        "n7/01-a.md": article("images/a.jpg"), "n7/02-b.md": article("images/b.jpg"),
        "n7/images/a.jpg": encoded(two_halves((1200, 800)), "JPEG"),
        "n7/images/b.jpg": encoded(two_halves((900, 600)), "JPEG"),
    })
    site = built(source)
    cache = image_cache_dir(source)
    assert cache == tmp_path / ".flash-cache" / "images"
    before = cache_state(cache)
    # a (1200 px): 480, 960, 1200 × 2 formats + 600 for the email (its 1200 is the web's);
    # b (900 px): 480, 900 × 2 + 600; the cover (1000 px, transparent): like a, in PNG.
    web = [k for k in before if not k.startswith(("info/", "print/"))]
    assert len(web) == 7 + 5 + 7
    # and one print copy of each for the printable edition (flash.printing)
    assert len([k for k in before if k.startswith("print/")]) == 3

    site = built(source)
    assert cache_state(cache) == before  # nothing written, nothing touched
    # The site's copies are hard links to the cache entries, not new files.
    copy = next((site / "media").glob("a-960.*.webp"))
    assert copy.stat().st_ino in {ino for _, ino in before.values()}

    corpus, _ = load_corpus(source)
    assert corpus is not None
    report = images.publish(images_of(corpus).values(), Folder(tmp_path / "again"), source)
    assert (report.images, report.encoded, report.files) == (3, 0, 19)

    # One changed photo: only it is encoded again, under new URLs.
    (source / "n7/images/b.jpg").write_bytes(encoded(two_halves((900, 600), "RGB").rotate(180),
                                                     "JPEG"))
    corpus, _ = load_corpus(source)
    assert corpus is not None
    report = images.publish(images_of(corpus).values(), Folder(tmp_path / "again"), source)
    assert (report.images, report.encoded) == (3, 1)
    after = cache_state(cache)
    assert all(after[key] == value for key, value in before.items())
    assert len(after) == len(before) + 5 + 1  # the new entry, and the new file's info

    # A cache entry damaged by hand is made again, not trusted.
    next(cache.glob("*/*/960.webp")).unlink()
    report = images.publish(images_of(corpus).values(), Folder(tmp_path / "again"), source)
    assert report.encoded == 1


def test_work_is_spread_over_processes(tmp_path: Path) -> None:
    source = make_site(tmp_path, {
        **{f"n7/0{i}-p{i}.md": article(f"images/p{i}.jpg") for i in range(1, 5)},
        **{f"n7/images/p{i}.jpg": encoded(two_halves((1000 + i, 700)), "JPEG")
           for i in range(1, 5)},
    })
    corpus, _ = load_corpus(source)
    assert corpus is not None
    report = images.publish(images_of(corpus).values(), Folder(tmp_path / "site"), source,
                            workers=2)
    assert (report.images, report.encoded) == (5, 5)
    for i in range(1, 5):
        with PILImage.open(next((tmp_path / "site/media").glob(f"p{i}-960.*.jpg"))) as copy:
            assert copy.size == (960, images.scaled_height(1000 + i, 700, 960))


# --- odd files --------------------------------------------------------------------------------

def plain(text: str) -> str:
    """Messages use French no-break spaces; the assertions below are easier to read without."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def report_for(tmp_path: Path, name: str, data: bytes, *, body: bool = False):
    if body:
        files = {"n7/01-a.md": article(None, f"Texte.\n\n![Photo](images/{name})\n")}
    else:
        files = {"n7/01-a.md": article(f"images/{name}")}
    source = make_site(tmp_path, {**files, f"n7/images/{name}": data})
    corpus, report = load_corpus(source)
    return source, corpus, report


REFUSED = [
    ("texte.jpg", b"Bonjour, ceci est un texte et pas une photo.\n", "n’est pas une image"),
    ("tronquee.jpg", phone_photo()[:9000], "incomplet ou tronqué"),
    ("abimee.png", transparent_png()[:60] + b"\0" * 200, "illisible"),
    ("bombe.png", huge_png(30000, 30000), "trop grande"),
    ("grosse.png", huge_png(10000, 8000), "10 000 × 8 000 pixels"),
]


@pytest.mark.parametrize(("name", "data", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_files_name_the_file_and_the_line(tmp_path: Path, name: str, data: bytes,
                                                  words: str) -> None:
    _, corpus, report = report_for(tmp_path, name, data)
    assert corpus is None
    [error] = report.errors
    assert (error.path, error.line) == ("issues/n7/01-a.md", 6)
    message = plain(error.message)
    assert f"« images/{name} »" in message and words in message and "refusée : " in message
    _, corpus, report = report_for(tmp_path / "corps", name, data, body=True)
    [error] = report.errors
    assert (error.path, error.line, corpus) == ("issues/n7/01-a.md", 9, None)


def test_truncated_files_are_refused_after_the_printable_edition_was_made(tmp_path: Path
                                                                          ) -> None:
    """WeasyPrint, once imported, lets Pillow accept truncated files: not in Flash's checks."""
    import weasyprint  # noqa: F401  (what flash.printing imports; it sets Pillow's switch)
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES
    _, corpus, report = report_for(tmp_path, "tronquee.jpg", phone_photo()[:9000])
    assert corpus is None
    assert "incomplet ou tronqué" in plain(report.errors[0].message)
    assert ImageFile.LOAD_TRUNCATED_IMAGES  # left as WeasyPrint wants it for its own use


def test_refused_file_stops_the_build_without_a_traceback(tmp_path: Path) -> None:
    source, _, _ = report_for(tmp_path, "texte.jpg", b"pas une image")
    with pytest.raises(ContentError):
        build(source, tmp_path / "_site", settings_for())
    result = subprocess.run([sys.executable, "-m", "flash", "build", "--source", str(source),
                             "--output", str(tmp_path / "_site")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "issues/n7/01-a.md:6" in output and "« images/texte.jpg »" in plain(output)


def handled(tmp_path: Path, name: str, data: bytes) -> tuple[list, Path]:
    source, corpus, report = report_for(tmp_path, name, data)
    assert corpus is not None, [str(d) for d in report.errors]
    site = built(source)
    copies = sorted((site / "media").glob(f"{Path(name).stem}-*"))
    assert copies
    for path in copies:
        assert_no_metadata(path)
    return report.warnings, site


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    _, site = handled(tmp_path, "cmyk.jpg", cmyk_jpeg())
    for path in (site / "media").glob("cmyk-*"):
        with PILImage.open(path) as copy:
            assert copy.mode == "RGB"
            red, green, blue = copy.getpixel((10, 10))
            assert red > 200 and green < 80 and blue < 80, (path.name, copy.getpixel((10, 10)))


def test_sixteen_bit_png_keeps_its_tones(tmp_path: Path) -> None:
    _, site = handled(tmp_path, "seize.png", sixteen_bit_png())
    for path in (site / "media").glob("seize-*"):
        with PILImage.open(path) as copy:
            grey = copy.convert("L").getpixel((5, 5))
            assert 115 <= grey <= 140, (path.name, grey)  # 32768/65535, not clipped to white


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_image_publishes_its_first_frame_and_says_so(tmp_path: Path, fmt: str) -> None:
    name = f"anime.{fmt.lower()}"
    warnings, site = handled(tmp_path, name, animated(fmt))
    [warning] = [w for w in warnings if "animée" in w.message]
    assert (warning.path, warning.line) == ("issues/n7/01-a.md", 6)
    assert "seule sa première image sera publiée" in plain(warning.message)
    for path in (site / "media").glob("anime-*"):
        with PILImage.open(path) as copy:
            assert not getattr(copy, "is_animated", False)
            red, _, blue = copy.convert("RGB").getpixel((5, 5))
            assert red > 180 and blue < 80, path.name


def test_palette_png_with_transparency_stays_transparent(tmp_path: Path) -> None:
    _, site = handled(tmp_path, "palette.png", palette_png_with_transparency())
    fallbacks = sorted((site / "media").glob("palette-*.png"))
    assert fallbacks and not list((site / "media").glob("palette-*.jpg"))
    for path in [*fallbacks, *(site / "media").glob("palette-*.webp")]:
        with PILImage.open(path) as copy:
            rgba = copy.convert("RGBA")
            assert rgba.getpixel((2, 2))[3] == 0, path.name
            assert rgba.getpixel((rgba.width - 3, 2))[:3][0] > 150, path.name


def test_grey_jpeg(tmp_path: Path) -> None:
    _, site = handled(tmp_path, "gris.jpg", grey_jpeg())
    for path in (site / "media").glob("gris-*"):
        with PILImage.open(path) as copy:
            assert abs(copy.convert("L").getpixel((5, 5)) - 90) < 6


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_turned_upright_and_gps_dropped(tmp_path: Path, fmt: str) -> None:
    exif = PILImage.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)}
    data = encoded(two_halves((1200, 800)), fmt, exif=exif,
                   xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">GPSLatitude 48,51</x:xmpmeta>')
    with PILImage.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test file does carry it
    _, site = handled(tmp_path, f"gps.{fmt.lower()}", data)  # checks copies for metadata
    for path in (site / "media").glob("gps-*"):
        with PILImage.open(path) as copy:
            rgb = copy.convert("RGB")
            assert rgb.height > rgb.width and rgb.width in (480, 600, 800), path.name
            assert rgb.getpixel((rgb.width // 2, 3))[0] > 180, path.name  # left half on top


def test_png_renamed_jpg_is_read_by_content(tmp_path: Path) -> None:
    handled(tmp_path, "vraiment-png.jpg", transparent_png())


# --- in the browser ---------------------------------------------------------------------------

@pytest.mark.parametrize(("width", "scale", "expected"), [(1280, 1, "960"), (390, 3, "1600"),
                                                          (390, 1, "480")])
def test_browser_picks_a_fitting_webp(photo_site: Path, width: int, scale: int,
                                      expected: str) -> None:
    with serve(photo_site) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": 900},
                                device_scale_factor=scale)
        page.goto(f"{base}/numeros/7/jardin/")
        page.wait_for_function("document.querySelector('.figure img').complete")
        chosen = page.evaluate("document.querySelector('.figure img').currentSrc")
        box = page.evaluate("(() => { const r = document.querySelector('.figure img')"
                            ".getBoundingClientRect(); return [r.width, r.height]; })()")
    assert chosen.endswith(".webp") and f"/media/telephone-{expected}." in chosen, chosen
    assert abs(box[1] - box[0] * 1.5) < 2  # the reserved box has the photo's proportions
