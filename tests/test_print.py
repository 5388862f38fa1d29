"""The printable edition and the poster, read back from the PDFs the build writes: table of
contents against the pages, embedded fonts, tagged structure and language, images without
metadata and never enlarged, footnotes and tables, the poster's QR code (rendered by poppler,
decoded by zbar), incremental rebuilds, and the links of the issue page and the e-mail."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BASE_URL, SAMPLE, generate, parse, settings_for, write_tree
from PIL import ExifTags
from PIL import Image as PILImage
from pypdf import PdfReader

from flash.build import build, load
from flash.printing import built, file_size, short_url

NBSP = "\u00a0"
SPACES = re.compile(r"\s+")  # with the no-break spaces of French typography


def flat(text: str) -> str:
    """Text without any space nor line break: PDF text comes broken into lines."""
    return SPACES.sub("", text).replace("\u2010", "").replace("-", "")


def pages_text(reader: PdfReader) -> list[str]:
    return [page.extract_text() or "" for page in reader.pages]


def phone_photo(size: tuple[int, int]) -> bytes:
    """A JPEG as a phone writes it: camera make, GPS position and a comment."""
    exif = PILImage.Exif()
    exif[ExifTags.Base.Make] = "TelephoneSecret"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)}
    buffer = io.BytesIO()
    PILImage.new("RGB", size, (200, 60, 40)).save(buffer, "JPEG", quality=90, exif=exif,
                                                  comment=b"chez Mme Martin")
    return buffer.getvalue()


REGISTRIES = {
    "organisations.yaml": 'mesolia:\n  name: "Mésolia"\n  colour: "#00857c"\n'
                          'alfi:\n  name: "ALFI"\n  colour: "#7b2d8b"\n',
    "themes.yaml": "jardin:\n  label: Jardin\n",
}
BODY = """Un jardin partagé[^1] au pied des immeubles, avec [le dossier de presse](https://www.exemple.fr/dossier/jardin-partage/).

> « Ici, on se parle enfin. »

| Parcelles | Familles |
|---|---|
| 24 | 31 |

[^1]: Ouvert à tous les locataires de la résidence.
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("print") / "issues"
    return write_tree(root, {
        **REGISTRIES,
        "2021-04-n7/issue.yaml": 'number: 7\ndate: "2021-04"\nintro: "Le printemps."\n',
        "2021-04-n7/images/grande.jpg": phone_photo((2400, 1600)),
        "2021-04-n7/images/petite.jpg": phone_photo((300, 200)),
        "2021-04-n7/01-jardin.md": (
            '---\ntitle: "Un jardin partagé"\norganisation: mesolia\nthemes: [jardin]\n'
            'location: "Bordeaux (33)"\nimage:\n  src: images/grande.jpg\n  alt: "Un potager"\n'
            '  credit: "Photo : Mésolia"\nlinks:\n  - label: "Le site du jardin"\n'
            '    url: "https://www.jardin-exemple.fr/"\n---\n\n' + BODY),
        "2021-04-n7/02-fete.md": (
            '---\ntitle: "La fête des voisins"\norganisation: alfi\nimage:\n'
            '  src: images/petite.jpg\n  alt: "Des voisins"\n---\n\nUne fête.\n'),
    })


@pytest.fixture(scope="module")
def tree_site(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("print-site") / "_site"
    build(tree, out, settings_for(), search_on=False)
    return out


def sample_pdf(site: Path) -> PdfReader:
    return PdfReader(site / "numeros/195/flash-195.pdf")


# --- the sample issue -------------------------------------------------------------------------

def test_every_article_is_on_the_page_the_table_of_contents_gives(sample_site: Path) -> None:
    corpus, _ = load(SAMPLE)
    (issue,) = corpus.issues
    reader = sample_pdf(sample_site)
    texts = pages_text(reader)
    toc = re.findall(r"\.{5,}\s*(\d+)\s*$", texts[0], re.MULTILINE)
    assert len(toc) == len(issue.articles), texts[0]
    entries = flat(texts[0])
    positions = [entries.find(flat(article.title)) for article in issue.articles]
    assert -1 not in positions and positions == sorted(positions)  # in the issue's order
    pages = [int(n) for n in toc]
    assert pages == sorted(pages) and pages[0] >= 2
    for article, page in zip(issue.articles, pages, strict=True):
        assert flat(article.title) in flat(texts[page - 1]), (article.title, page)
        assert flat(article.organisation.name) in flat(texts[page - 1])


def test_pages_have_the_folio_and_their_number(sample_site: Path) -> None:
    reader = sample_pdf(sample_site)
    total = len(reader.pages)
    assert 2 < total < 20
    for number, text in enumerate(pages_text(reader)[1:], 2):
        assert (f"Flash initiatives locales · N°195 · mars 2021 · page {number} / {total}"
                in text), text[-200:]


def test_fonts_are_embedded(sample_site: Path) -> None:
    reader = sample_pdf(sample_site)
    seen = 0
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for part in [font, *[f.get_object() for f in font.get("/DescendantFonts", [])]]:
                descriptor = part.get("/FontDescriptor")
                if descriptor is None:
                    continue
                descriptor = descriptor.get_object()
                seen += 1
                assert {"/FontFile2", "/FontFile3", "/FontFile"} & set(descriptor), descriptor
    assert seen >= 3  # serif text, sans-serif headings, monospace addresses


def test_pdf_is_tagged_french_with_title_and_author(sample_site: Path) -> None:
    for name in ("flash-195.pdf", "affiche-195.pdf"):
        reader = PdfReader(sample_site / "numeros/195" / name)
        root = reader.trailer["/Root"]
        assert "/StructTreeRoot" in root
        assert root["/MarkInfo"]["/Marked"]
        assert root["/Lang"] == "fr"
        assert "N°195" in reader.metadata.title
        assert reader.metadata.author == "ALFI et Groupe Arcade-VYV"


def test_sample_pdf_holds_its_images_and_stays_small(sample_site: Path) -> None:
    path = sample_site / "numeros/195/flash-195.pdf"
    assert path.stat().st_size < 3_000_000
    reader = PdfReader(path)
    images = {name: xobject.get_object()
              for page in reader.pages
              for name, xobject in page["/Resources"].get("/XObject", {}).items()
              if xobject.get_object()["/Subtype"] == "/Image"}
    assert len(images) >= 7  # the cover and the six articles' images


def test_links_are_printed_with_a_short_address_and_a_qr_code(sample_site: Path) -> None:
    text = flat("".join(pages_text(sample_pdf(sample_site))))
    assert flat("mesolia.fr") in text  # the article's link « Dossier de presse Gratiné.e.s »
    assert flat("numeros/195/livre-de-recettes-gratines") in text


def test_poster_is_one_page_whose_qr_code_leads_to_the_issue(sample_site: Path,
                                                             tmp_path: Path) -> None:
    poster = sample_site / "numeros/195/affiche-195.pdf"
    reader = PdfReader(poster)
    assert len(reader.pages) == 1
    text = flat(reader.pages[0].extract_text())
    corpus, _ = load(SAMPLE)
    for article in corpus.issues[0].articles:
        assert flat(article.title) in text and flat(article.organisation.name) in text
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(poster), str(tmp_path / "affiche")],
                   check=True, timeout=60)
    (png,) = tmp_path.glob("affiche*.png")
    decoded = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True,
                             text=True, timeout=60, check=True)
    assert decoded.stdout.split() == [f"{BASE_URL}/numeros/195/"]


def test_poster_of_a_long_issue_stays_one_page(tmp_path: Path) -> None:
    from flash.printing import render_poster
    from flash.templates import make_environment

    source = tmp_path / "issues"
    generate(source, issues=1, articles=12, seed=3, images=False, min_words=20, max_words=30)
    corpus, _ = load(source)
    env = make_environment([SAMPLE.parent / "layouts"])
    poster = PdfReader(io.BytesIO(render_poster(env, corpus.issues[0], settings_for(), source)))
    assert len(poster.pages) == 1
    text = flat(poster.pages[0].extract_text())
    assert all(flat(article.title) in text for article in corpus.issues[0].articles)


def test_issue_page_and_email_link_to_both_pdfs_with_their_size(sample_site: Path) -> None:
    edition = (sample_site / "numeros/195/flash-195.pdf").stat().st_size
    poster = (sample_site / "numeros/195/affiche-195.pdf").stat().st_size
    page = parse(sample_site / "numeros/195/index.html")
    (links,) = page.cssselect(".print-links")
    assert [a.get("href") for a in links.cssselect("a")] == [
        "/numeros/195/flash-195.pdf", "/numeros/195/affiche-195.pdf"]
    text = links.text_content()
    assert f"Version imprimable (PDF, {file_size(edition)})" in text
    assert f"Affiche à imprimer (PDF, {file_size(poster)})" in text
    mail = parse(sample_site / "numeros/195/email.html")
    hrefs = [a.get("href") for a in mail.cssselect("a")]
    assert f"{BASE_URL}/numeros/195/flash-195.pdf" in hrefs
    assert f"(PDF, {file_size(edition)})" in mail.text_content()
    plain = (sample_site / "numeros/195/email.txt").read_text(encoding="utf-8")
    assert f"Version imprimable (PDF, {file_size(edition)}){NBSP}:" in plain
    assert f"{BASE_URL}/numeros/195/affiche-195.pdf" in plain


def test_flash_send_finds_the_pdfs_of_the_built_site(sample_site: Path) -> None:
    found = built(195, sample_site)
    assert found is not None
    assert found.edition.size == (sample_site / "numeros/195/flash-195.pdf").stat().st_size
    assert found.poster.url == "/numeros/195/affiche-195.pdf"
    assert built(194, sample_site) is None


# --- a tree with what the sample lacks --------------------------------------------------------

def test_images_carry_no_metadata_and_are_never_enlarged(tree_site: Path) -> None:
    path = tree_site / "numeros/7/flash-7.pdf"
    data = path.read_bytes()
    for secret in (b"TelephoneSecret", b"Mme Martin", b"Exif"):
        assert secret not in data
    reader = PdfReader(path)
    widths = set()
    for page in reader.pages:
        for xobject in page["/Resources"].get("/XObject", {}).values():
            image = xobject.get_object()
            if image["/Subtype"] != "/Image":
                continue
            widths.add(image["/Width"])
            if image.get("/Filter") == "/DCTDecode":
                jpeg = PILImage.open(io.BytesIO(image._data))
                assert not jpeg.getexif()
                assert "comment" not in jpeg.info
    # 2400 px: at most 2000 (300 dpi across the column); 300 px: kept, never enlarged
    assert widths == {2000, 300}


def test_quotes_tables_footnotes_and_links_are_printed(tree_site: Path) -> None:
    reader = PdfReader(tree_site / "numeros/7/flash-7.pdf")
    texts = pages_text(reader)
    article = next(t for t in texts if "Un jardin partagé" in t and "Parcelles" in t)
    flat_article = flat(article)
    assert flat("« Ici, on se parle enfin. »") in flat_article
    assert flat("Parcelles Familles 24 31") in flat_article
    # The note at the foot of the page of its call, without the web page's « ↩ »
    assert flat("Ouvert à tous les locataires de la résidence.") in flat_article
    assert "↩" not in article
    assert flat("(exemple.fr/dossier/jardin-partage)") in flat_article
    assert flat("jardin-exemple.fr") in flat_article
    assert "Photo" in article and "Mésolia" in article
    assert flat(short_url(f"{BASE_URL}/numeros/7/jardin/", limit=200)) in flat_article


def test_an_image_that_cannot_be_printed_is_named_in_french(tree: Path) -> None:
    from flash.model import Image
    from flash.printing import _Copies

    source = tree / "2021-04-n7/images/petite.jpg"
    changed = Image(source, "2021-04-n7/images/petite.jpg", "Des voisins", width=300,
                    height=200, digest="0" * 64)  # not the file's: it changed meanwhile
    copies = _Copies(tree)
    assert copies.paper(changed) is None
    (problem,) = copies.problems
    assert problem.path == "issues/2021-04-n7/images/petite.jpg"
    assert problem.level == "erreur"
    assert "version imprimable" in problem.message and "relancez-la" in problem.message


def test_short_addresses_and_sizes() -> None:
    assert short_url("https://www.mesolia.fr/") == "mesolia.fr"
    assert short_url("https://exemple.fr/a/b/?x=1") == "exemple.fr/a/b?x=1"
    assert short_url("https://exemple.fr/" + "a" * 100).endswith("…")
    assert file_size(90_123) == f"90{NBSP}ko"
    assert file_size(1_234_567) == f"1,2{NBSP}Mo"
    assert file_size(999_700) == f"1,0{NBSP}Mo"


# --- incremental ------------------------------------------------------------------------------

def pdfs_of(rendered: list[str]) -> set[str]:
    return {path for path in rendered if path.endswith(".pdf")}


def test_pdfs_are_made_again_only_when_what_they_show_changed(tmp_path: Path) -> None:
    source = tmp_path / "issues"
    generate(source, issues=3, articles=2, seed=5, images=False, min_words=40, max_words=80)
    site = tmp_path / "_site"
    first = build(source, site, settings_for(), search_on=False)
    assert pdfs_of(first.rendered) == {f"numeros/{n}/{kind}-{n}.pdf"
                                       for n in (1, 2, 3) for kind in ("flash", "affiche")}
    inode = (site / "numeros/2/flash-2.pdf").stat().st_ino
    second = build(source, site, settings_for(), search_on=False, skip_if_unchanged=False)
    assert pdfs_of(second.rendered) == set()
    assert (site / "numeros/2/flash-2.pdf").stat().st_ino == inode
    article = sorted((source).glob("*-n2/*.md"))[0]
    article.write_text(article.read_text(encoding="utf-8") + "\nUne phrase de plus.\n",
                       encoding="utf-8")
    third = build(source, site, settings_for(), search_on=False)
    assert pdfs_of(third.rendered) == {"numeros/2/flash-2.pdf"}  # the poster shows no text
    assert flat("Une phrase de plus.") in flat(" ".join(pages_text(
        PdfReader(site / "numeros/2/flash-2.pdf"))))
    # A new site elsewhere takes the PDFs from the cache beside the content
    other = build(source, tmp_path / "ailleurs", settings_for(), search_on=False)
    assert pdfs_of(other.rendered) == set()
    assert (tmp_path / "ailleurs/numeros/2/flash-2.pdf").read_bytes() == (
        site / "numeros/2/flash-2.pdf").read_bytes()


def test_print_can_be_turned_off(tree: Path, tmp_path: Path) -> None:
    site = tmp_path / "_site"
    report = build(tree, site, settings_for(print=False), search_on=False)
    assert pdfs_of(report.rendered) == set()
    assert not list(site.rglob("*.pdf"))
    assert not parse(site / "numeros/7/index.html").cssselect(".print-links")
    assert "imprimable" not in (site / "numeros/7/email.txt").read_text(encoding="utf-8")


def test_without_pango_the_site_is_built_and_the_team_told_what_to_install(
        tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WeasyPrint needs Pango from the system: missing, the site is built without its PDFs,
    with a French warning saying what to install (or how to turn the PDFs off)."""
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as when libpango cannot be loaded
    source = shutil.copytree(tree, tmp_path / "issues")  # its own cache, with no PDF yet
    an_hour_ago = time.time() - 3600  # files as old as a checkout's: the build may trust them
    for path in source.rglob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    site = tmp_path / "site"
    report = build(source, site, settings_for(), search_on=False)
    (warning,) = [w for w in report.warnings if "Pango" in w.message]
    assert warning.level == "avertissement" and warning.path == "pyproject.toml"
    assert "apt install" in warning.message and "--no-print" in warning.message
    assert "\u00a0:" in warning.message  # French typography
    assert not list(site.rglob("*.pdf"))
    page = (site / "numeros" / "7" / "index.html").read_text(encoding="utf-8")
    assert "Version imprimable" not in page
    assert report.issues == 1 and (site / "index.html").is_file()
    # Pango installed afterwards: the next build makes the PDFs, though no file changed.
    monkeypatch.delitem(sys.modules, "weasyprint")
    report = build(source, site, settings_for(), search_on=False)
    assert not [w for w in report.warnings if "Pango" in w.message]
    assert (site / "numeros" / "7" / "flash-7.pdf").is_file()
