"""The email edition the build writes: numeros/<n>/email.html, email.txt, email.eml."""

from __future__ import annotations

import email
import email.policy
import mimetypes
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import BASE_URL, SAMPLE, generate, parse, settings_for, write_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from flash.build import build, load
from flash.mail.compose import (
    MAX_HTML_BYTES,
    PLACEHOLDER,
    EmailError,
    compose,
    email_body,
    message,
)
from flash.mail.subscribers import ListError, read_list, valid_address
from flash.mail.text import WIDTH
from flash.mail.unsubscribe import recipient_url, token, verify
from flash.output import OutputError
from flash.shipped import project_dirs
from flash.templates import make_environment

SUBJECT = "Flash initiatives locales N°195 – mars 2021"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
NNBSP, NBSP = "\u202f", "\u00a0"


def issue_email(site: Path, number: int = 195) -> Path:
    return site / "numeros" / str(number) / "email.html"


@pytest.fixture(scope="module")
def sample_email(sample_site: Path) -> lxml_html.HtmlElement:
    return parse(issue_email(sample_site))


def absolute(url: str) -> bool:
    return url.startswith(("https://", "http://", "mailto:", "tel:"))


# --- email.html ------------------------------------------------------------------------------

def test_sample_email_fits_gmail_and_carries_no_active_content(sample_site: Path,
                                                               sample_email) -> None:
    assert issue_email(sample_site).stat().st_size <= MAX_HTML_BYTES
    for forbidden in ("//script", "//form", "//iframe", "//object", "//embed", "//input",
                      "//link[@rel='stylesheet']", "//*[@onclick or @onload or @onerror]"):
        assert not sample_email.xpath(forbidden), forbidden
    assert "@import" not in issue_email(sample_site).read_text()
    assert "@font-face" not in issue_email(sample_site).read_text()


def test_every_link_and_image_is_absolute_and_sized(sample_email) -> None:
    hrefs = sample_email.xpath("//a/@href")
    assert hrefs and all(absolute(h) for h in hrefs), [h for h in hrefs if not absolute(h)]
    images = sample_email.xpath("//img")
    assert len(images) >= 6  # the cover and one picture per illustrated article
    for img in images:
        assert img.get("src").startswith(f"{BASE_URL}/media/")
        assert img.get("src").endswith(".jpg") or img.get("src").endswith(".png")
        assert int(img.get("width")) <= 600 and int(img.get("height")) > 0
        assert img.get("alt") is not None
        density = img.get("srcset")
        assert density and density.startswith(f"{BASE_URL}/media/") and density.endswith(" 2x")
        assert "-1200." in density and "-600." in img.get("src")


def test_styles_readers_need_are_inline(sample_email) -> None:
    """Webmails that drop <style> (Orange, SFR, La Poste) must still get the whole design."""
    (style,) = sample_email.xpath("//style")  # Outlook's font fix hides in a comment
    css = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", style.text)
    assert css.strip() == "", "only @media enhancements may live in <style>"
    container = sample_email.xpath("//table[contains(@class, 'container')]")[0]
    assert "max-width:600px" in container.get("style")
    for title in sample_email.xpath("//h2[contains(@class, 'title')]"):
        assert "font-size:22px" in title.get("style")
    body_paragraphs = sample_email.xpath(
        "//div[contains(@class, 'prose')]//p[not(ancestor::blockquote)]"
        "[not(ancestor::table[contains(@class, 'video-card')])]")
    assert body_paragraphs and all("margin:0 0 14px 0" in p.get("style") for p in body_paragraphs)


def test_content_of_the_sample_issue(sample_email) -> None:
    corpus, _ = load(SAMPLE)
    issue = corpus.issues[0]
    assert sample_email.findtext(".//title") == SUBJECT
    preheader = sample_email.xpath("//div[contains(@class, 'preheader')]")[0]
    assert preheader.text_content().startswith(issue.preheader)
    assert "display:none" in preheader.get("style") and "mso-hide:all" in preheader.get("style")
    online = sample_email.xpath("//a[normalize-space()='Voir la version en ligne']/@href")
    assert online == [f"{BASE_URL}/numeros/195/"]
    assert "N°195 · mars 2021" in sample_email.text_content()
    (h1,) = sample_email.xpath("//h1")  # one heading for screen readers to start from
    assert h1.text_content() == "Flash initiatives locales"
    titles = [t.text_content() for t in sample_email.xpath("//h2[contains(@class, 'title')]")]
    assert titles == [a.title for a in issue.articles]
    badges = sample_email.xpath("//td[contains(@class, 'badge')]")
    for badge, article in zip(badges, issue.articles, strict=True):
        org = article.organisation
        assert badge.text_content() == org.name
        assert f"background-color:{org.colour}" in badge.get("style")
        assert f"color:{org.on_colour}" in badge.get("style")
        assert badge.get("bgcolor") == org.colour  # Outlook's Word engine reads the attribute
    locations = [t.text_content() for t in sample_email.xpath("//td[contains(@class, 'location')]")]
    assert locations == [a.location for a in issue.articles if a.location]
    text = sample_email.text_content()
    assert "Publié par ALFI et Groupe Arcade-VYV" in text
    unsubscribe = sample_email.xpath("//a[normalize-space()='Se désabonner']/@href")
    assert unsubscribe == [f"{BASE_URL}/desabonnement/"]
    links = sample_email.xpath("//p[contains(@class, 'links-item')]/a/@href")
    assert links == [link.url for a in issue.articles for link in a.links]


def test_dark_mode_and_outlook_affordances(sample_site: Path, sample_email) -> None:
    schemes = sample_email.xpath("//meta[@name='color-scheme']/@content")
    assert schemes == ["light dark"]
    assert sample_email.xpath("//meta[@name='supported-color-schemes']/@content") == ["light dark"]
    source = issue_email(sample_site).read_text()
    assert "@media (prefers-color-scheme:dark)" in source
    assert "<!--[if mso]>" in source and 'width="600"' in source
    assert all(t.get("role") == "presentation" for t in sample_email.xpath("//table"))


def test_unsubscribe_page_is_published(sample_site: Path) -> None:
    page = parse(sample_site / "desabonnement" / "index.html")
    assert page.findtext(".//h1") == "Se désabonner du Flash"
    assert "Le plus simple\u00a0: depuis votre messagerie" in page.text_content()
    mailto = page.xpath("//a[starts-with(@href, 'mailto:')]/@href")
    assert mailto and "subject=D%C3%A9sabonnement" in mailto[0]


def test_twelve_articles_stay_under_gmail_clipping(tmp_path: Path) -> None:
    source = tmp_path / "issues"
    generate(source, issues=1, articles=12, seed=11, images=True)
    site = tmp_path / "_site"
    build(source, site, settings_for())
    page = issue_email(site, 1)
    assert page.stat().st_size <= MAX_HTML_BYTES
    tree = parse(page)
    assert len(tree.xpath("//h2[contains(@class, 'title')]")) == 12
    # Long articles do not fit in full: each one is summed up with a link to read on.
    more = tree.xpath("//a[normalize-space()='Lire la suite']/@href")
    assert len(more) == 12 and all(h.startswith(f"{BASE_URL}/numeros/1/") for h in more)
    assert all(absolute(h) for h in tree.xpath("//a/@href"))


def test_content_setting_forces_full_or_summary(tmp_path: Path) -> None:
    corpus, _ = load(SAMPLE)
    issue = corpus.issues[0]
    env = make_environment(project_dirs(settings_for(), "layouts"))
    summary = compose(env, issue, settings_for(email_content="summary"))
    assert summary.mode == "summary" and "Lire la suite" in summary.html
    assert compose(env, issue, settings_for()).mode == "full"
    source = tmp_path / "issues"
    generate(source, issues=1, articles=12, seed=11)
    long_issue = load(source)[0].issues[0]
    assert compose(env, long_issue, settings_for()).mode == "summary"
    forced = compose(env, long_issue, settings_for(email_content="full"))
    assert forced.mode == "full" and forced.html_bytes > MAX_HTML_BYTES
    with pytest.raises(EmailError, match="email_content") as error:
        compose(env, issue, settings_for(email_content="tout"))
    assert isinstance(error.value, OutputError)  # so `flash build` reports it in French


def test_article_bodies_are_made_safe_for_mail_clients(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "issues", {
        "organisations.yaml": 'alfi:\n  name: "ALFI"\n  colour: "#7b2d8b"\n',
        "themes.yaml": 'culture:\n  label: "Culture"\n',
        "2021-04-n196/issue.yaml": 'number: 196\ndate: "2021-04"\n',
        "2021-04-n196/01-essai.md": (
            '---\ntitle: "Essai"\norganisation: alfi\nsummary: "Un essai."\n---\n\n'
            "Voir [les archives](/numeros/) et la note[^1].\n\n"
            "![Des habitants au jardin](images/jardin.jpg)\n\n"
            "https://www.youtube.com/watch?v=abc\n\n[^1]: Une note.\n"),
    })
    from PIL import Image

    (source / "2021-04-n196" / "images").mkdir()
    Image.new("RGB", (1600, 900), (40, 120, 90)).save(source / "2021-04-n196/images/jardin.jpg")
    corpus, _ = load(source)
    article = corpus.issues[0].articles[0]
    body = lxml_html.fromstring(email_body(article, settings_for()))
    hrefs = body.xpath("//a/@href")
    assert f"{BASE_URL}/numeros/" in hrefs
    assert f"{BASE_URL}/numeros/196/essai/#fn1" in hrefs
    assert "https://www.youtube.com/watch?v=abc" in hrefs
    assert not body.xpath("//picture | //source")
    (img,) = body.xpath("//img")
    assert img.get("src").startswith(f"{BASE_URL}/media/jardin-600.")
    assert img.get("width") == "552" and img.get("height") == "310"
    assert img.get("alt") == "Des habitants au jardin"
    assert img.get("srcset").endswith(" 2x") and "jardin-1200." in img.get("srcset")


# --- email.txt ---------------------------------------------------------------------------------

def test_text_version_is_readable(sample_site: Path) -> None:
    text = (sample_site / "numeros/195/email.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    corpus, _ = load(SAMPLE)
    for article in corpus.issues[0].articles:
        index = lines.index(article.title)
        assert set(lines[index + 1]) == {"="} and len(lines[index + 1]) == len(article.title)
    for line in lines:
        # Only an unbreakable word (a URL) may pass 72 columns.
        assert len(line) <= WIDTH or " " not in line.strip().split("] ", 1)[-1], line
    # Links are numbered in the text and listed below each article.
    assert re.search(rf"Dossier de presse Gratiné\.e\.s{NBSP}\[(\d)\]", text)
    assert "[1] https://flash.example.org/numeros/195/livre-de-recettes-gratines/" in lines
    assert "[2] https://www.mesolia.fr/" in lines
    # French typography survives: no-break spaces stay, lines never start with « : » or « ; ».
    assert f"credo{NBSP}:" in text and f"«{NNBSP}Gratiné.e.s{NNBSP}»" in text
    assert not any(line.lstrip().startswith((":", ";", "!", "?", "»")) for line in lines)
    assert text.rstrip().endswith(f"Se désabonner{NBSP}: {BASE_URL}/desabonnement/")


# --- email.eml ---------------------------------------------------------------------------------

def test_eml_parses_back_into_text_then_html_with_every_header(sample_site: Path) -> None:
    raw = (sample_site / "numeros/195/email.eml").read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.iter_parts()
    assert [text.get_content_type(), html.get_content_type()] == ["text/plain", "text/html"]
    # MIME's canonical line ending is CRLF; the published files use the platform's "\n".
    crlf = "\r\n"
    assert text.get_content().replace(crlf, "\n") == \
        (sample_site / "numeros/195/email.txt").read_text()
    assert html.get_content().replace(crlf, "\n") == issue_email(sample_site).read_text()
    assert msg["Subject"] == SUBJECT
    assert msg["From"].addresses[0].addr_spec == settings_for().email_from.split("<")[1][:-1]
    assert msg["MIME-Version"] == "1.0"
    assert msg["Date"].datetime.year == 2021 and msg["Date"].datetime.month == 3
    assert re.fullmatch(r"<flash-195@[\w.-]+>", msg["Message-ID"])
    https, mailto = (p.strip(" <>") for p in msg["List-Unsubscribe"].split(","))
    assert https == f"{BASE_URL}/desabonnement/" and mailto.startswith("mailto:")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert raw.count(b"\r\n") > 100 and b"\n" not in raw.replace(b"\r\n", b"")


def test_personal_message_headers(tmp_path: Path) -> None:
    corpus, _ = load(SAMPLE)
    config = settings_for(email_from="Flash initiatives locales <flash@alfi-asso.org>",
                          reply_to="Service communication <communication@alfi-asso.org>",
                          subject="{title} n°{number} ({month})")
    env = make_environment(project_dirs(config, "layouts"))
    composed = compose(env, corpus.issues[0], config)
    key = b"secret"
    url = recipient_url(config, key, "Jeanne.Martin@Exemple.fr")
    from email.headerregistry import Address

    raw = message(composed, to=Address("Jeanne Martin", addr_spec="Jeanne.Martin@Exemple.fr"),
                  unsubscribe_url=url)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "Flash initiatives locales n°195 (mars 2021)"
    assert msg["To"].addresses[0].display_name == "Jeanne Martin"
    assert msg["Reply-To"].addresses[0].addr_spec == "communication@alfi-asso.org"
    assert msg["List-Unsubscribe"].startswith(f"<{url}>, <mailto:communication@alfi-asso.org?")
    assert url.endswith(token(key, "jeanne.martin@exemple.fr"))
    assert verify(key, "jeanne.martin@exemple.fr", url.rsplit("=", 1)[1])
    assert not verify(key, "autre@exemple.fr", url.rsplit("=", 1)[1])
    text, html = (p.get_content() for p in msg.iter_parts())
    assert url in text and url.replace("&", "&amp;") in html
    assert PLACEHOLDER not in text and PLACEHOLDER not in html


def test_email_settings_mistakes_are_french(tmp_path: Path) -> None:
    corpus, _ = load(SAMPLE)
    env = make_environment(project_dirs(settings_for(), "layouts"))
    with pytest.raises(EmailError, match="champs possibles"):
        compose(env, corpus.issues[0], settings_for(subject="{titre} N°{number}"))
    composed = compose(env, corpus.issues[0], settings_for(email_from="pas une adresse"))
    with pytest.raises(EmailError, match="email_from"):
        message(composed)


# --- the subscribers list ---------------------------------------------------------------------

def test_subscriber_list_dialects_and_problems(tmp_path: Path) -> None:
    path = tmp_path / "abonnes.csv"
    path.write_bytes("Courriel;Nom\nanne@exemple.fr;Anne Dupré\n\nanne@exemple.fr;Encore\n"
                     "jean@@exemple.fr;Jean\n;Personne\nLéa@exemple.fr;Léa\n".encode("cp1252"))
    subscribers = read_list(path)
    assert [(r.email, r.name, r.line) for r in subscribers.recipients] == [
        ("anne@exemple.fr", "Anne Dupré", 2)]
    assert [p.line for p in subscribers.problems] == [4, 5, 6, 7]
    assert "ligne 2" in subscribers.problems[0].message


# --- looked at in Chromium ------------------------------------------------------------------------

@pytest.mark.parametrize("width", [600, 375])
def test_email_renders_in_one_column_without_overflow(sample_site: Path, width: int,
                                                      tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")

    def serve(route) -> None:
        path = route.request.url.removeprefix(BASE_URL).split("?")[0]
        target = sample_site / path.lstrip("/")
        if target.is_file():
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            route.fulfill(body=target.read_bytes(), content_type=kind)
        else:
            route.fulfill(status=404, body="")

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            source = issue_email(sample_site).read_text()
            # Orange, SFR and La Poste webmails drop <style>: the layout must hold without it.
            stripped = re.sub(r"<style>.*?</style>", "", source, count=2, flags=re.DOTALL)
            for scheme, markup in (("light", source), ("dark", source), ("light", stripped)):
                page = browser.new_page(viewport={"width": width, "height": 900},
                                        color_scheme=scheme)
                page.route(f"{BASE_URL}/**", serve)
                page.set_content(markup, wait_until="load")
                metrics = page.evaluate("""() => {
                    const box = e => e.getBoundingClientRect();
                    const container = document.querySelector('table.container');
                    const cards = [...document.querySelectorAll('td.card')].map(box);
                    return {
                        scroll: document.documentElement.scrollWidth,
                        container: box(container).width,
                        cardLefts: [...new Set(cards.map(c => Math.round(c.left)))],
                        images: [...document.images].map(i => [i.naturalWidth, box(i).width]),
                        bodyColour: getComputedStyle(document.body).backgroundColor,
                        titleColour: getComputedStyle(document.querySelector('h2.title a')).color,
                    };
                }""")
                kind = scheme if markup is source else "sans-style"
                page.screenshot(path=str(tmp_path / f"email-{width}-{kind}.png"), full_page=True)
                page.close()
                assert metrics["scroll"] <= width  # nothing sticks out sideways
                assert metrics["container"] <= 600
                assert len(metrics["cardLefts"]) == 1  # one column: cards stacked
                assert all(natural > 0 for natural, _ in metrics["images"])  # every image loads
                assert all(shown <= min(width, 600) for _, shown in metrics["images"])
                if scheme == "dark":
                    assert metrics["bodyColour"] == "rgb(18, 20, 24)"
                    assert metrics["titleColour"] == "rgb(230, 232, 235)"
                else:
                    assert metrics["bodyColour"] == "rgb(238, 240, 243)"
        finally:
            browser.close()



def test_plain_text_wrapping_matches_textwrap() -> None:
    import textwrap

    from flash.mail.text import wrap

    words = ["le", "logement", f"«{NNBSP}bonjour{NNBSP}»", "x" * 30,
             "https://exemple.fr/" + "z" * 70, "l’ALFI", f"1{NNBSP}000", "—", "[3]"]
    for count in range(0, 60, 7):
        text = " ".join(words[(count * k) % len(words)] for k in range(count))
        for indent, hanging in (("", None), ("> ", None), ("  • ", "    ")):
            expected = textwrap.TextWrapper(
                width=WIDTH, initial_indent=indent,
                subsequent_indent=hanging if hanging is not None else indent,
                break_long_words=False, break_on_hyphens=False).wrap(text) or [indent.rstrip()]
            assert wrap(text, indent=indent, hanging=hanging) == expected
    # A URL longer than a line stays whole, alone on its line; no-break spaces never break.
    lines = wrap("voir https://exemple.fr/" + "z" * 80 + f" puis «{NNBSP}fin{NNBSP}»")
    assert lines[1].startswith("https://") and len(lines[1]) > WIDTH
    assert lines[2] == f"puis «{NNBSP}fin{NNBSP}»"


# --- what the page has, the e-mail keeps (issue 13 §5) --------------------------------------------

# caniemail's "HTML5 semantics": Outlook for Windows, Windows Mail and Yahoo drop these elements
# and their styles.
HTML5_SEMANTICS = ("article", "aside", "details", "figcaption", "figure", "footer", "header",
                   "hgroup", "main", "mark", "nav", "section", "summary", "time")


def _rich_issue(tmp_path: Path) -> Path:
    """An issue whose article has a credited image, a video, footnotes and raw HTML5 blocks."""
    from PIL import Image

    source = write_tree(tmp_path / "issues", {
        "organisations.yaml": 'alfi:\n  name: "ALFI"\n  colour: "#7b2d8b"\n',
        "themes.yaml": 'culture:\n  label: "Culture"\n',
        "2021-04-n196/issue.yaml": (
            'number: 196\ndate: "2021-04"\ncover:\n  src: images/couverture.jpg\n'
            '  alt: "Une place au soleil"\n  credit: "Photo : Anne Couvreur"\n'),
        "2021-04-n196/01-essai.md": (
            '---\ntitle: "Essai"\norganisation: alfi\nsummary: "Un essai."\nimage:\n'
            '  src: images/jardin.jpg\n  alt: "Des habitants au jardin"\n'
            '  credit: "Photo : Jean Martin / Mésolia"\n---\n\n'
            "Une première note[^1] et une seconde[^deux].\n\n"
            "https://www.youtube.com/watch?v=abc\n\n"
            "<section><header>Entête</header><aside>À côté</aside><article>Article</article>"
            "<nav>Navigation</nav><footer>Pied</footer><details><summary>Résumé</summary>"
            "Détail</details><p><mark>surligné</mark> le <time>12 mars</time></p></section>\n\n"
            "<figure><figcaption>Légende seule</figcaption></figure>\n\n"
            "[^1]: La première note.\n[^deux]: La seconde note.\n"),
    })
    images = source / "2021-04-n196" / "images"
    images.mkdir()
    Image.new("RGB", (1600, 900), (40, 120, 90)).save(images / "jardin.jpg")
    Image.new("RGB", (1600, 800), (200, 120, 40)).save(images / "couverture.jpg")
    return source


def _composed_rich(tmp_path: Path):
    source = _rich_issue(tmp_path)
    corpus, _ = load(source)
    env = make_environment(project_dirs(settings_for(), "layouts"))
    composed = compose(env, corpus.issues[0], settings_for())
    url = f"{BASE_URL}/desabonnement/"
    return lxml_html.fromstring(composed.html_for(url)), composed.text_for(url)


def test_photo_credits_are_in_the_html_and_the_text(tmp_path: Path) -> None:
    tree, text = _composed_rich(tmp_path)
    cover = tree.xpath("//td[contains(@class, 'cover')]")[0]
    # The credit is the row right under the picture it credits, as the site's figcaption.
    cover_credit = cover.getparent().getnext().xpath("./td[contains(@class, 'credit')]")
    assert [c.text_content() for c in cover_credit] == ["Photo\u00a0: Anne Couvreur"]
    media = tree.xpath("//td[contains(@class, 'card-media')]")[0]
    credit = media.getparent().getnext().xpath("./td[contains(@class, 'credit')]")
    assert [c.text_content() for c in credit] == ["Photo\u00a0: Jean Martin / Mésolia"]
    assert "font-size:12px" in credit[0].get("style")  # inlined: webmails without <style>
    assert "(Couverture — Photo\u00a0: Anne Couvreur)" in text
    assert "(Image de l’article — Photo\u00a0: Jean Martin / Mésolia)" in text
    lines = text.splitlines()
    assert lines.index("(Image de l’article — Photo\u00a0: Jean Martin / Mésolia)") > \
        lines.index("Essai")


def test_sample_email_credits_every_picture(sample_site: Path, sample_email) -> None:
    corpus, _ = load(SAMPLE)
    issue = corpus.issues[0]
    credits = [c.text_content() for c in sample_email.xpath("//td[contains(@class, 'credit')]")]
    expected = [issue.cover.credit] + [a.image.credit for a in issue.articles if a.image]
    assert credits == expected
    text = (sample_site / "numeros/195/email.txt").read_text(encoding="utf-8")
    assert text.count(f"— {issue.cover.credit})") == len(expected)


@pytest.mark.parametrize("where", ["rich", "sample"])
def test_no_html5_semantic_element_in_the_email(tmp_path: Path, sample_email, where: str
                                                ) -> None:
    tree = _composed_rich(tmp_path)[0] if where == "rich" else sample_email
    found = [e.tag for e in tree.iter() if isinstance(e.tag, str) and e.tag in HTML5_SEMANTICS]
    assert found == []
    if where == "rich":
        # Their content stays, styled through the class that names what they were.
        body = tree.xpath("//div[contains(@class, 'prose')]")[0]
        for kept in ("Entête", "À côté", "Navigation", "Pied", "Résumé", "Détail",
                     "surligné", "12 mars", "Légende seule"):
            assert kept in body.text_content()
        (mark,) = body.xpath(".//span[contains(@class, 'mail-mark')]")
        assert "background-color:#fff1a8" in mark.get("style")
        assert body.xpath(".//div[contains(@class, 'mail-section') and "
                          "contains(@class, 'footnotes')]")


def test_video_card_is_a_table_outlook_draws(tmp_path: Path, sample_email) -> None:
    for tree in (_composed_rich(tmp_path)[0], sample_email):
        (card,) = tree.xpath("//table[contains(@class, 'video-card')]")
        assert card.get("role") == "presentation"
        (cell,) = card.xpath(".//td[contains(@class, 'video-card__cell')]")
        assert "border-left:6px solid #c8102e" in cell.get("style")
        assert cell.get("bgcolor") == "#f7f8fa"  # Word reads the attribute, not the style
        links = cell.xpath(".//a/@href")
        assert len(links) == 2 and len(set(links)) == 1
        assert links[0].startswith("https://www.youtube.com/watch?v=")
        assert "Regarder sur YouTube" in cell.text_content()


def test_footnote_back_links_are_dropped(tmp_path: Path) -> None:
    tree, text = _composed_rich(tmp_path)
    html_text = tree.text_content()
    assert "↩" not in html_text and "↩" not in text
    assert not [h for h in tree.xpath("//a/@href") if "#fnref" in h]
    # The notes themselves, and the calls to them, stay.
    assert "La première note." in html_text and "La seconde note." in html_text
    calls = tree.xpath("//sup[contains(@class, 'footnote-ref')]/a/@href")
    assert calls == [f"{BASE_URL}/numeros/196/essai/#fn1", f"{BASE_URL}/numeros/196/essai/#fn2"]
    assert "La première note." in text and "La seconde note." in text


# --- the subscribers list: every row accounted for (issue 19 §2, issue 13 §6) ---------------------

def _accounted(subscribers) -> int:
    return len(subscribers.recipients) + len(subscribers.skipped) + len(subscribers.blank)


def test_excel_first_and_last_name_columns_make_the_to_name(tmp_path: Path) -> None:
    path = tmp_path / "abonnes.csv"
    path.write_bytes("Prénom;Nom;E-mail\r\nMarie;Lefèvre;marie.lefevre@exemple.fr\r\n"
                     ";Durand;durand@exemple.fr\r\nPaul;;paul@exemple.fr\r\n".encode("cp1252"))
    subscribers = read_list(path)
    assert [(r.email, r.name) for r in subscribers.recipients] == [
        ("marie.lefevre@exemple.fr", "Marie Lefèvre"), ("durand@exemple.fr", "Durand"),
        ("paul@exemple.fr", "Paul")]
    assert subscribers.columns == ("adresses lues dans la colonne «\u202fE-mail\u202f», noms "
                                   "dans «\u202fPrénom\u202f» et «\u202fNom\u202f»")


@pytest.mark.parametrize("header", [
    "E-mail", "Email", "EMAIL", "e-mail", "Courriel", "COURRIEL", "Adresse mail",
    "Adresse e-mail", "adresse E-Mail", "Adresse électronique", "Adresse Electronique", "Mail",
    "Mél", "E_mail", "E-mail professionnel", "\ufeffEmail"])
def test_french_office_headers_name_the_address_column(tmp_path: Path, header: str) -> None:
    path = tmp_path / "abonnes.csv"
    path.write_text(f"Civilité;Nom complet;{header};Adresse postale\n"
                    "Mme;Anne Dupré;anne@exemple.fr;3 rue des Lilas\n", encoding="utf-8")
    subscribers = read_list(path)
    assert [(r.email, r.name) for r in subscribers.recipients] == [("anne@exemple.fr",
                                                                   "Anne Dupré")]
    shown = header.lstrip("\ufeff")
    assert f"colonne «\u202f{shown}\u202f»" in subscribers.columns
    assert "«\u202fNom complet\u202f»" in subscribers.columns


def test_an_unclosed_quote_is_refused_at_the_line_it_opens(tmp_path: Path) -> None:
    path = tmp_path / "abonnes.csv"
    path.write_text('email;nom\nq1@exemple.fr;"Dupont\nq2@exemple.fr;Martin\n'
                    "q3@exemple.fr;Durand\n", encoding="utf-8")
    with pytest.raises(ListError) as error:
        read_list(path)
    message = str(error.value)
    assert message.startswith(f"{path}:2\u00a0: un guillemet")
    assert "jamais refermé" in message and "rien n’a été envoyé" in message


def test_a_quote_closed_rows_later_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "abonnes.csv"
    path.write_text('email;nom\nq1@exemple.fr;"Dupont\nq2@exemple.fr;Martin\n'
                    'q3@exemple.fr;Durand"\nq4@exemple.fr;Petit\n', encoding="utf-8")
    with pytest.raises(ListError, match=r":2\u00a0: .* refermé que ligne 4\u00a0: les lignes 3 "
                                        "à 4, avec leurs adresses"):
        read_list(path)


def test_a_150_kb_list_with_an_open_quote_is_a_french_error(tmp_path: Path) -> None:
    """The csv module stops such a list with `_csv.Error: field larger than field limit`."""
    path = tmp_path / "abonnes.csv"
    rows = ["email;nom", 'q1@exemple.fr;"Dupont'] + [f"a{n}@exemple.fr;Nom numéro {n}"
                                                     for n in range(6000)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert path.stat().st_size > 150_000
    with pytest.raises(ListError, match=r"abonnes\.csv:2\u00a0: un guillemet"):
        read_list(path)


def test_a_name_over_two_lines_or_holding_an_address_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "abonnes.csv"
    path.write_text('email,name\nanne@exemple.fr,"Anne\nDupré"\n'
                    "jean@exemple.fr,jean@exemple.fr\nlea@exemple.fr,Léa\n", encoding="utf-8")
    subscribers = read_list(path)
    assert [(r.email, r.name, r.line) for r in subscribers.recipients] == [
        ("anne@exemple.fr", "Anne Dupré", 2), ("jean@exemple.fr", "", 4),
        ("lea@exemple.fr", "Léa", 5)]
    warnings = {p.line: p.message for p in subscribers.warnings}
    assert set(warnings) == {2, 4} and not subscribers.skipped
    assert "plusieurs lignes (lignes 2 à 3)" in warnings[2]
    assert "contient une adresse e-mail" in warnings[4]
    assert subscribers.rows == 3 == _accounted(subscribers)


@pytest.mark.parametrize("shape", ["utf-8", "utf-8-sig", "cp1252", "utf-16", "crlf", "comma",
                                   "tab", "trailing-columns", "blank-lines", "no-final-break",
                                   "old-mac"])
def test_shapes_excel_exports(tmp_path: Path, shape: str) -> None:
    delimiter = {"comma": ",", "tab": "\t", "utf-16": "\t"}.get(shape, ";")
    rows = [["E-mail", "Prénom", "Nom"], ["anne@exemple.fr", "Anne", "Dupré"],
            ["jean@exemple.fr", "Jean", "Lefèvre"], ["pas-une-adresse", "X", "Y"]]
    lines = [delimiter.join(r + ([""] * 3 if shape == "trailing-columns" else [])) for r in rows]
    if shape == "blank-lines":
        lines.insert(2, "")
        lines.insert(3, ";;")
    end = {"crlf": "\r\n", "old-mac": "\r"}.get(shape, "\n")
    text = end.join(lines) + ("" if shape == "no-final-break" else end)
    encoding = shape if shape in ("utf-8-sig", "cp1252", "utf-16") else "utf-8"
    path = tmp_path / "abonnes.csv"
    path.write_bytes(text.encode(encoding))
    subscribers = read_list(path)
    assert [(r.email, r.name) for r in subscribers.recipients] == [
        ("anne@exemple.fr", "Anne Dupré"), ("jean@exemple.fr", "Jean Lefèvre")]
    assert [p.message.split("«")[0] for p in subscribers.skipped] == ["adresse invalide "]
    blank = 2 if shape == "blank-lines" else 0
    assert len(subscribers.blank) == blank
    assert subscribers.rows == 3 + blank == _accounted(subscribers)


@pytest.mark.parametrize(("data", "expected"), [
    (b"PK\x03\x04\x14\x00\x06\x00", "classeur Excel"),
    (b"", "la liste est vide"),
    (b"\n\n\n", "la liste est vide"),
    (b"Nom;Ville\nDupont;Lyon\n", "pas de colonne d’adresses"),
    (b"email\n\x81\x8d\x8f\x90\x9d\xff\xfe\x00", "encodage illisible"),
])
def test_lists_that_cannot_be_read_say_why(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "abonnes.csv"
    path.write_bytes(data)
    with pytest.raises(ListError, match=expected):
        read_list(path)


def test_a_list_without_a_header_is_read_from_its_address_column(tmp_path: Path) -> None:
    path = tmp_path / "abonnes.csv"
    path.write_text("Anne;anne@exemple.fr\nJean;jean@exemple.fr\n", encoding="utf-8")
    subscribers = read_list(path)
    assert [r.email for r in subscribers.recipients] == ["anne@exemple.fr", "jean@exemple.fr"]
    assert subscribers.rows == 2 and "pas de ligne d’en-tête" in subscribers.columns


# Property tests: whatever the list, never a traceback, and every row accounted for.

_cells = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_addresses = st.one_of(
    st.from_regex(r"[a-z0-9._%+-]{1,10}@[a-z0-9-]{1,8}\.(fr|org|com)", fullmatch=True),
    _cells)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(_addresses, _cells, _cells), max_size=25),
       delimiter=st.sampled_from([";", ",", "\t"]), end=st.sampled_from(["\n", "\r\n"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_property_rows_written_as_excel_writes_them_come_back(
        tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, str]],
        delimiter: str, end: str, encoding: str) -> None:
    def excel(cell: str) -> str:
        """As Excel writes a cell: quoted when it holds a separator, a quote or a line break."""
        if any(c in cell for c in (delimiter, '"', "\r", "\n")):
            return '"' + cell.replace('"', '""') + '"'
        return cell

    lines = [delimiter.join(excel(c) for c in row) for row in [("E-mail", "Prénom", "Nom"),
                                                                 *rows]]
    path = tmp_path_factory.mktemp("liste") / "abonnes.csv"
    path.write_bytes((end.join(lines) + end).encode(encoding))
    try:
        subscribers = read_list(path)
    except ListError as exc:
        if "encodage" in str(exc):  # a NUL byte: not a text file
            assert any("\x00" in c for row in rows for c in row)
            return
        # Only a cell holding a line break and an address (rows swallowed) is refused.
        assert "guillemet" in str(exc)
        assert any(("\n" in c or "\r" in c) and "@" in c for row in rows for c in row)
        return
    assert subscribers.rows == len(rows) == _accounted(subscribers)
    kept = {r.email: r for r in subscribers.recipients}
    seen: set[str] = set()
    for address, first, last in rows:
        address = address.strip()
        if valid_address(address) and address.lower() not in seen:
            seen.add(address.lower())
            assert address in kept
            name = kept[address].name
            # One line for the To: header, made of what the two cells held.
            assert not re.search(r"[\x00-\x1f\x7f]", name) and name == name.strip()
            assert set(name.replace(" ", "")) <= set(first + last)
    assert len(kept) == len(seen)


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=400) | st.text(
    st.sampled_from(list('ab@.;,"\r\n\t é\x00')), max_size=300).map(str.encode))
def test_property_any_bytes_give_a_list_or_a_french_error(
        tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("liste") / "abonnes.csv"
    path.write_bytes(b"email;nom\n" + data)
    try:
        subscribers = read_list(path)
    except ListError as exc:
        assert str(exc).startswith(str(path))
        return
    assert subscribers.rows == _accounted(subscribers)
    # With no quote in the file, rows are its lines under the header, blank ones included.
    text = path.read_bytes().decode("utf-8", "replace")
    if '"' not in text:
        breaks = re.findall(r"\r\n|\n|\r", text)
        assert subscribers.rows == len(breaks) - 1 + (0 if re.search(r"(\r\n|\n|\r)$", text)
                                                      else 1)
