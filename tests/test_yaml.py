"""YAML mistakes and hostile content files: a French message at the line of the mistake.

Each mistake of the communications team (issue 13 §2) and each class of hostile input (issue 19
§1) has a named test; `flash check` runs once as a subprocess over a tree holding one case per
file, the other tests load the content in this process.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE, settings_for, write_tree

from flash.build import build
from flash.diagnostics import ContentError, Diagnostic
from flash.sources import SourceError, parse_yaml
from flash.validate import load_corpus


def _png() -> bytes:
    from PIL import Image

    stream = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 120, 40)).save(stream, "PNG")
    return stream.getvalue()


PNG = _png()
REGISTRIES = {
    "organisations.yaml": (SAMPLE / "organisations.yaml").read_text(encoding="utf-8"),
    "themes.yaml": (SAMPLE / "themes.yaml").read_text(encoding="utf-8"),
}
ISSUE = 'number: 10\ndate: "2021-03"\n'
GOOD = 'title: "Bon"\norganisation: mesolia\nsummary: "Résumé."\n'
# What PyYAML and Python say in English: none of it may reach the team.
ENGLISH = re.compile(r"\b(found|expected|while|scanning|parsing|could not|cannot|character|"
                     r"Error|Traceback|mapping|sequence|scalar|token|stream|None)\b")


def article(front: str, body: str = "Un texte.\n") -> str:
    return f"---\n{front}---\n\n{body}"


def bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": each level an anchored list of `width` aliases of the one below."""
    names = "abcdefghijklmnop"
    laughs = ", ".join(['"lol"'] * width)
    lines = [f"{names[0]}: &{names[0]} [{laughs}]"]
    for level in range(1, levels):
        below = ", ".join([f"*{names[level - 1]}"] * width)
        lines.append(f"{names[level]}: &{names[level]} [{below}]")
    return "\n".join(lines) + "\n"


def run_check(source: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flash", "check", "--source", str(source)],
                          capture_output=True, text=True, cwd=source.parent, timeout=120)


def diagnostics(source: Path) -> list[Diagnostic]:
    _, report = load_corpus(source)
    return report.sorted()


def of(found: list[Diagnostic], name: str) -> list[Diagnostic]:
    return [d for d in found if d.path.endswith("/" + name) or d.path == name]


def assert_french(diagnostic: Diagnostic) -> None:
    assert not ENGLISH.search(diagnostic.message), diagnostic


# --- issue 13 §2: the team's mistakes, through `flash check` ----------------------------------

CASES = {
    # name: (file under a/, content, line, words the message holds, words it must not hold)
    "bombe": ("01-bombe.md", article(GOOD + bomb() + "themes: *i\n"), 5,
              ("ancre YAML", "&a", "guillemets"), ()),
    "tabulation": ("02-tab.md", article('title: "Bon"\n\torganisation: mesolia\n'), 3,
                   ("tabulation", "« organisation »", "espaces"), ("tab character",)),
    "guillemets": ("03-guillemets.md", article('title: "Bilan : "une" année"\n'
                                               "organisation: mesolia\n"), 2,
                   ("guillemets droits", 'title: "Bilan : «\u00a0une\u00a0» année"',
                    "title: 'Bilan : \"une\" année'"), ("indentation",)),
    "tiret": ("04-tiret.md", article(GOOD + "links:\n  -label: \"Le site\"\n"
                                     "    url: \"https://exemple.fr\"\n"), 6,
              ("espace après le tiret", "« - label: \"Le site\" »"), ("indentation",)),
    "tiret-dernier": ("05-tiret-dernier.md", article(GOOD + "links:\n  -label: \"Le site\"\n"),
                      6, ("espace après le tiret", "- label:"), ()),
    "pas-sous-parent": ("06-decalage.md", article(
        GOOD + "image:\n  src: images/ok.png\nalt: \"Une photo\"\n  credit: \"Photo : Flash\"\n"),
        7, ("« alt » n’est pas décalé sous « image »", "2 espaces"), ()),
    "trop-decale": ("07-trop-decale.md", article(
        GOOD + "image:\n  src: images/ok.png\n    alt: \"Une photo\"\n"),
        7, ("« alt » est plus décalé que « src »",), ()),
    "commentaire": ("08-commentaire.md", article("title: # Bilan\norganisation: mesolia\n"), 2,
                    ("« # » commence un commentaire", 'title: "# Bilan"'), ("manque",)),
    "deux-points": ("09-deux-points.md", article(GOOD.replace('summary: "Résumé."',
                                                              "summary: Lieu : Auby")), 4,
                    ("deux-points", 'summary: "Lieu : Auby"'), ()),
    "windows": ("10-windows.md", article(GOOD + "image:\n  src: C:\\Users\\marie\\Desktop\\"
                                         "jardin.jpg\n  alt: \"Le jardin\"\n"), 6,
                ("chemin sur votre ordinateur", "dossier images/", "src: images/jardin.jpg"),
                ("adresse web",)),
    "windows-guillemets": ("11-windows-guillemets.md", article(
        GOOD + 'image:\n  src: "C:\\Users\\marie\\Desktop\\jardin.jpg"\n  alt: "Le jardin"\n'),
        6, ("chemin sur votre ordinateur", "src: images/jardin.jpg"), ("échappement",)),
    "majuscules": ("12-majuscules.md", article(GOOD + "image:\n  src: images/Jardin.JPG\n"
                                               "  alt: \"Le jardin\"\n"), 6,
                   ("« images/jardin.jpg »", "majuscules et les minuscules"), ()),
    "image-proche": ("13-image-proche.md", article(GOOD + "image:\n  src: images/jardins.jpg\n"
                                                   "  alt: \"Le jardin\"\n"), 6,
                     ("la plus proche d’abord : « images/jardin.jpg », « images/ok.png »",), ()),
    "latin1": ("14-latin1.md", article(GOOD, "Été à Bourges.\n").encode("cp1252"), 4,
               ("pas enregistré en UTF-8", "Bloc-notes", "LibreOffice", "Word", "Résumé"),
               ("octet", "0xc9", "0xe9")),
    "profond": ("15-profond.md", article(GOOD + "themes: " + "[" * 5000 + "]" * 5000 + "\n"), 5,
                ("imbriquées trop profondément",), ()),
    "enorme": ("16-enorme.md", article(GOOD + 'location: "' + "x" * 600_000 + '"\n'), 2,
               ("trop long",), ()),
    "alias-texte": ("17-alias-texte.md", article(GOOD.replace('summary: "Résumé."',
                                                              "summary: *Nouveau* projet")), 4,
                    ("« * »", "guillemets", 'summary: "*Nouveau* projet"'), ()),
}


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    root = tmp_path_factory.mktemp("cas") / "issues"
    files: dict[str, str | bytes] = {**REGISTRIES, "a/issue.yaml": ISSUE,
                                     "a/images/ok.png": PNG, "a/images/jardin.jpg": PNG}
    for name, content, *_ in CASES.values():
        files[f"a/{name}"] = content
    write_tree(root, files)
    return run_check(root)


@pytest.mark.parametrize("case", list(CASES))
def test_check_explains_each_mistake_in_french_at_its_line(
        checked: subprocess.CompletedProcess[str], case: str) -> None:
    name, _, line, words, wrong = CASES[case]
    assert checked.returncode == 1
    assert "Traceback" not in checked.stderr
    prefix = f"issues/a/{name}:{line}: erreur : "
    found = [entry for entry in checked.stderr.splitlines() if entry.startswith(prefix)]
    assert found, (prefix, [e for e in checked.stderr.splitlines() if name in e])
    message = found[0][len(prefix):]
    for word in words:
        assert word in message, (word, message)
    for word in wrong:
        assert word not in message, (word, message)
    assert not ENGLISH.search(message), message


def test_bomb_is_refused_before_any_expansion() -> None:
    """The loader stops at the first anchor: nothing of the bomb is built, whatever its size
    (a bigger one takes no longer)."""
    for levels in (3, 9, 30):
        with pytest.raises(SourceError) as refused:
            parse_yaml(GOOD + bomb(min(levels, 16), 30) + "themes: *a\n", 2)
        assert refused.value.line == 5
        assert "ancre YAML" in refused.value.message


ACCEPTED = {
    **REGISTRIES,
    "a/issue.yaml": 'number: "196"\ndate: "2021-04"\n',
    "a/01-virgules.md": article(GOOD + "themes: environnement, vivre-ensemble\n"),
    "a/02-libelles.md": article(GOOD + "themes: [Insertion et emploi, vivre-ensemble]\n"),
    "a/03-libelle-seul.md": article(GOOD + "themes: Accompagnement social\n"),
    "a/04-titre-nombre.md": article(GOOD.replace('"Bon"', "1984")),
}


def test_quoted_number_comma_list_and_theme_labels_are_accepted(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "issues", ACCEPTED)
    corpus, report = load_corpus(root)
    assert corpus is not None, report.errors
    issue = corpus.issues[0]
    assert issue.number == 196
    themes = {a.slug: [t.slug for t in a.themes] for a in issue.articles}
    assert themes == {"virgules": ["environnement", "vivre-ensemble"],
                      "libelles": ["insertion-emploi", "vivre-ensemble"],
                      "libelle-seul": ["accompagnement-social"], "titre-nombre": []}
    assert next(a for a in issue.articles if a.slug == "titre-nombre").title == "1984"


def test_unknown_theme_label_still_gets_a_suggestion(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "issues", {
        **REGISTRIES, "a/issue.yaml": ISSUE,
        "a/01-x.md": article(GOOD + "themes: Insertion emploi\n")})
    found = of(diagnostics(root), "01-x.md")
    assert [d.message for d in found if d.is_error] == [
        "thème inconnu « Insertion emploi » (voir themes.yaml). Vouliez-vous dire "
        "« insertion-emploi » ?"]


def test_windows_path_in_the_body_names_the_markdown_to_write(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "issues", {
        **REGISTRIES, "a/issue.yaml": ISSUE,
        "a/01-x.md": article(GOOD, "Texte.\n\n![Le jardin](C:/Users/marie/jardin.jpg)\n")})
    errors = [d for d in of(diagnostics(root), "01-x.md") if d.is_error]
    assert len(errors) == 1 and errors[0].line == 9
    assert "chemin sur votre ordinateur" in errors[0].message
    assert "![description](images/jardin.jpg)" in errors[0].message


def test_missing_images_folder_is_named(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "issues", {
        **REGISTRIES, "a/issue.yaml": ISSUE,
        "a/01-x.md": article(GOOD + "image:\n  src: image/jardin.jpg\n  alt: x\n")})
    errors = [d for d in of(diagnostics(root), "01-x.md") if d.is_error]
    assert [e.line for e in errors] == [6]
    assert "le dossier « image » n’existe pas" in errors[0].message


# --- the skeletons of `flash new` -------------------------------------------------------------

def test_placeholders_of_flash_new_warn_in_check_and_stop_send(tmp_path: Path) -> None:
    from flash.mail.campaign import CampaignError, prepare

    root = write_tree(tmp_path / "issues", dict(REGISTRIES))
    flash = [sys.executable, "-m", "flash"]
    for command in (["new", "issue", "196", "--date", "2021-04"],
                    ["new", "article", "196", "--organisation", "mesolia", "Un jardin"]):
        made = subprocess.run([*flash, *command, "--source", str(root)], capture_output=True,
                              text=True, timeout=60)
        assert made.returncode == 0, made.stderr
    result = run_check(root)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "texte d’exemple" in line]
    assert len(warnings) == 2
    assert warnings[0].startswith("issues/2021-04-n196/01-un-jardin.md:16: avertissement : ")
    assert "« Écrivez ici le texte de l’article, en Markdown. »" in warnings[0]
    assert warnings[1].startswith("issues/2021-04-n196/issue.yaml:6: avertissement : ")
    assert "Retrouvez dans ce numéro" in warnings[1]
    with pytest.raises(CampaignError) as refused:
        prepare(root, 196, settings_for(), to="relecture@exemple.fr", dry_run=True)
    assert "textes d’exemple" in str(refused.value)
    assert sorted((Path(d.path).name, d.line, d.level) for d in refused.value.diagnostics) == [
        ("01-un-jardin.md", 16, "erreur"), ("issue.yaml", 6, "erreur")]
    # Once replaced, nothing is left: check is quiet about it, send goes on.
    text = root / "2021-04-n196" / "01-un-jardin.md"
    text.write_text(text.read_text(encoding="utf-8").replace(
        "Écrivez ici le texte de l’article, en Markdown.", "Les locataires plantent."),
        encoding="utf-8")
    intro = root / "2021-04-n196" / "issue.yaml"
    intro.write_text(intro.read_text(encoding="utf-8").replace(
        "Retrouvez dans ce numéro les initiatives locales, sociales et innovantes…",
        "Un numéro de printemps."), encoding="utf-8")
    assert "texte d’exemple" not in run_check(root).stderr


# --- issue 19 §1: hostile content files --------------------------------------------------------

def hostile(tmp_path: Path, files: dict[str, str | bytes]) -> list[Diagnostic]:
    base = {**REGISTRIES, "a/issue.yaml": ISSUE, "a/images/ok.png": PNG,
            "a/01-ok.md": article(GOOD)}
    root = write_tree(tmp_path / "issues", {**base, **files})
    found = diagnostics(root)
    for diagnostic in found:
        assert_french(diagnostic)
    return found


def only_error(found: list[Diagnostic], name: str) -> Diagnostic:
    errors = [d for d in of(found, name) if d.is_error]
    assert len(errors) >= 1, found
    return errors[0]


@pytest.mark.parametrize(("name", "content", "line"), [
    ("organisations.yaml", "x: &x {name: *x}\n", 1),
    ("a/02-x.md", article(GOOD + "location: &a {k: *a}\n"), 5),
    ("a/02-x.md", article(GOOD + "image: &a [&b [*b]]\n"), 5),
])
def test_self_referential_alias(tmp_path: Path, name: str, content: str, line: int) -> None:
    error = only_error(hostile(tmp_path, {name: content}), Path(name).name)
    assert error.line == line and "ancre YAML" in error.message


@pytest.mark.parametrize("name", ["a/issue.yaml", "organisations.yaml", "themes.yaml",
                                  "a/02-x.md"])
def test_billion_laughs_anywhere(tmp_path: Path, name: str) -> None:
    content = bomb() + "title: *i\n"
    if name.endswith(".md"):
        content = article(GOOD + content)
    error = only_error(hostile(tmp_path, {name: content}), Path(name).name)
    assert error.line == (5 if name.endswith(".md") else 1)
    assert "« &a »" in error.message


def test_impossible_dates(tmp_path: Path) -> None:
    found = hostile(tmp_path, {
        "a/02-x.md": article(GOOD + "location: 2021-02-30\n"),
        "themes.yaml": REGISTRIES["themes.yaml"] + "2021-02-30:\n  label: \"Fête\"\n",
        "b/issue.yaml": 'number: 11\ndate: 2021-02-30\n', "b/01-ok.md": article(GOOD)})
    assert not of(found, "02-x.md") and not of(found, "themes.yaml")
    error = only_error(found, "b/issue.yaml")
    assert error.line == 2
    assert error.message.startswith("date « 2021-02-30 » impossible : ce jour n’existe pas")
    day = only_error(hostile(tmp_path / "jour", {"a/issue.yaml": "number: 10\ndate: 2021-02-03\n"}),
                     "issue.yaml")
    assert day.message == "« date » doit être un mois, « 2021-02 », pas un jour"


def test_location_written_as_a_date_is_the_text(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "issues", {**REGISTRIES, "a/issue.yaml": ISSUE,
                                            "a/01-x.md": article(GOOD + "location: 2021-02-30\n")})
    corpus, report = load_corpus(root)
    assert corpus is not None, report.errors
    assert corpus.articles[0].location == "2021-02-30"


def test_huge_integers(tmp_path: Path) -> None:
    digits = "9" * 5000
    found = hostile(tmp_path, {"a/issue.yaml": f"number: {digits}\ndate: \"2021-03\"\n",
                               "a/02-x.md": article(GOOD + f"order: {digits}\n"),
                               "a/03-x.md": article(GOOD + f"order: \"{digits}\"\n")})
    assert only_error(found, "issue.yaml").line == 1
    assert only_error(found, "issue.yaml").message == "« number » est trop grand"
    assert only_error(found, "02-x.md").line == 5
    assert only_error(found, "03-x.md").message == "« order » est trop grand"
    assert all(len(d.message) < 300 for d in found)


@pytest.mark.parametrize("tag", ['!!float "abc"', "!!binary aGVsbG8=", '!!null "x"',
                                 '!!python/object/apply:os.system ["true"]', "!x y",
                                 '!<tag:yaml.org,2002:str> "x"', "! x"])
def test_explicit_tags(tmp_path: Path, tag: str) -> None:
    error = only_error(hostile(tmp_path, {"a/02-x.md": article(GOOD + f"location: {tag}\n")}),
                       "02-x.md")
    assert error.line == 5
    assert "étiquette de type YAML" in error.message


def test_nul_bytes(tmp_path: Path) -> None:
    found = hostile(tmp_path, {"a/02-x.md": article(GOOD + 'location: "Au\x00by"\n'),
                               "organisations.yaml": "alfi:\n  name: AL\x00FI\n"})
    assert only_error(found, "02-x.md").line == 5
    assert "caractère nul" in only_error(found, "02-x.md").message
    assert only_error(found, "organisations.yaml").line == 2


@pytest.mark.parametrize("src", ["images/" + "x" * 300 + ".png", "images/" + "a/" * 3000 + "b.png",
                                 "x" * 6000])
def test_very_long_image_paths(tmp_path: Path, src: str) -> None:
    found = hostile(tmp_path, {
        "a/02-x.md": article(GOOD + f"image:\n  src: {src}\n  alt: \"Photo\"\n", f"![x]({src})\n")})
    errors = [d for d in of(found, "02-x.md") if d.is_error]
    assert [e.line for e in errors] == [6, 10]
    assert all(len(e.message) < 400 for e in errors)


REQUIRED = [
    # (file, its content with {} where the value goes, the key, the line)
    ("a/02-x.md", article('title: {}\norganisation: mesolia\n'), "title", 2),
    ("a/02-x.md", article('title: "Bon"\norganisation: {}\n'), "organisation", 3),
    ("a/02-x.md", article(GOOD + "image:\n  src: {}\n  alt: \"x\"\n"), "image.src", 6),
    ("a/02-x.md", article(GOOD + "image:\n  src: images/ok.png\n  alt: {}\n"), "alt", 7),
    ("a/02-x.md", article(GOOD + "links:\n  - label: {}\n    url: \"https://a.fr\"\n"),
     "links.0.label", 6),
    ("a/02-x.md", article(GOOD + "links:\n  - label: \"A\"\n    url: {}\n"), "links.0.url", 7),
    ("a/issue.yaml", 'number: {}\ndate: "2021-03"\n', "number", 1),
    ("a/issue.yaml", "number: 10\ndate: {}\n", "date", 2),
    ("a/issue.yaml", ISSUE + "cover:\n  src: images/ok.png\n  alt: {}\n", "alt", 5),
    ("organisations.yaml", "alfi:\n  name: {}\n", "alfi.name", 2),
    ("themes.yaml", "enfance:\n  label: {}\n", "enfance.label", 2),
]


@pytest.mark.parametrize("empty", ["", "~", "Null", "null", "NULL", '""', "' '"])
@pytest.mark.parametrize(("name", "content", "key", "line"), REQUIRED,
                         ids=[f"{Path(r[0]).name}:{r[2]}" for r in REQUIRED])
def test_null_is_missing_for_every_required_field(tmp_path: Path, empty: str, name: str,
                                                  content: str, key: str, line: int) -> None:
    found = hostile(tmp_path, {name: content.replace("{}", empty, 1)})
    errors = [d for d in of(found, Path(name).name) if d.is_error]
    assert errors and errors[0].line == line, found
    assert key.rsplit(".", 1)[-1] in errors[0].message


def test_failed_build_on_hostile_content_leaves_the_site(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "issues", {**REGISTRIES, "a/issue.yaml": ISSUE,
                                            "a/01-ok.md": article(GOOD)})
    out = tmp_path / "_site"
    build(root, out, settings_for(), search_on=False, emails=False)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for name, content in [("a/02-bombe.md", article(GOOD + bomb() + "themes: *i\n")),
                          ("a/02-bombe.md", b"---\ntitle: \x00\n---\n"),
                          ("themes.yaml", "x: &x {label: *x}\n"),
                          ("a/issue.yaml", "number: !!python/name:os.system\n")]:
        write_tree(root, {name: content})
        with pytest.raises(ContentError) as failure:
            build(root, out, settings_for(), search_on=False, emails=False)
        assert any(d.path.endswith(Path(name).name) and d.line for d in
                   failure.value.diagnostics)
        after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        assert after == before
        shutil.rmtree(root)
        write_tree(root, {**REGISTRIES, "a/issue.yaml": ISSUE, "a/01-ok.md": article(GOOD)})


@pytest.mark.parametrize("name", ["organisations.yaml", "themes.yaml"])
def test_an_unreadable_registry_is_the_only_error(tmp_path: Path, name: str) -> None:
    """The anchor in the registry is the mistake to fix: the articles naming an organisation or
    a theme it would declare are not reported as unknown on top of it."""
    found = hostile(tmp_path, {name: "x: &x {name: *x}\n",
                               "a/02-x.md": article(GOOD + "themes: [environnement]\n")})
    errors = [d for d in found if d.is_error]
    assert [(Path(d.path).name, d.line) for d in errors] == [(name, 1)], errors
