"""The editor's parts without a browser: Decap's configuration generated from the content
model, the local backend's checks before a save and its confinement to the content folder,
hostile requests, and the front-matter style shared by Decap and `flash fmt` (round trips)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, SAMPLE, settings_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flash.editor.backend import LocalBackend, Refused
from flash.editor.config import decap_config
from flash.editor.fmt import fmt, formatted
from flash.editor.style import ARTICLE_ORDER, front_matter
from flash.sources import parse_yaml, split_front_matter
from flash.validate import load_corpus

ARTICLE = "issues/2021-03-n195/01-livre-de-recettes-gratines.md"


def corpus_of(source: Path):
    corpus, _ = load_corpus(source)
    assert corpus is not None
    return corpus


def project(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE, tmp_path / "issues")
    return tmp_path


def backend(root: Path) -> LocalBackend:
    return LocalBackend(root, root / "issues",
                        lambda folder: load_corpus(folder, drafts=True)[1].items)


# --- the configuration --------------------------------------------------------------------

def test_configuration_follows_the_content_model() -> None:
    corpus = corpus_of(SAMPLE)
    config = decap_config(corpus, settings_for(), SAMPLE, local_url="http://127.0.0.1:1/api/v1")
    assert config["locale"] == "fr" and config["backend"]["name"] == "proxy"
    issues, articles = config["collections"]
    assert (issues["folder"], issues["extension"], issues["nested"]["depth"]) == (
        "issues", "yaml", 2)
    assert articles["folder"] == "issues/2021-03-n195" and articles["media_folder"] == "images"
    fields = {f["name"]: f for f in articles["fields"]}
    # required as flash check requires: title, organisation, body; the rest optional
    required = {name for name, f in fields.items() if f.get("required", True)}
    assert required == {"title", "organisation", "body"}
    slugs = [o["value"] for o in fields["organisation"]["options"]]
    registry = yaml.safe_load((SAMPLE / "organisations.yaml").read_text(encoding="utf-8"))
    assert sorted(slugs) == sorted(registry)
    themes = yaml.safe_load((SAMPLE / "themes.yaml").read_text(encoding="utf-8"))
    assert sorted(o["value"] for o in fields["themes"]["options"]) == sorted(themes)
    assert fields["themes"]["multiple"] is True
    image = {f["name"]: f for f in fields["image"]["fields"]}
    assert list(image) == ["src", "alt", "credit"] and image["src"]["widget"] == "image"
    assert [f["name"] for f in fields["links"]["fields"]] == ["label", "url"]
    issue_fields = {f["name"]: f for f in issues["fields"]}
    assert {n for n, f in issue_fields.items() if f.get("required", True)} >= {"number", "date"}
    # French labels and hints everywhere
    for field in [*articles["fields"], *issues["fields"]]:
        assert field["label"] and field["label"][0].isupper()
    assert "alt" in image["alt"]["label"] and "Obligatoire" in image["alt"]["hint"]


def test_online_configuration_uses_the_git_host_and_the_editorial_workflow() -> None:
    config = decap_config(corpus_of(SAMPLE), settings_for(editor_repo="alfi/flash"), SAMPLE)
    assert config["backend"] == {"name": "github", "repo": "alfi/flash", "branch": "main"}
    assert config["publish_mode"] == "editorial_workflow"
    assert "local_backend" not in config
    assert config["collections"][1]["preview_path"] == "numeros/195/"


def test_the_build_writes_the_editor_only_when_a_repository_is_set(tmp_path: Path) -> None:
    from flash.build import build

    build(SAMPLE, tmp_path / "off", settings_for(), printing=False, search_on=False)
    assert not (tmp_path / "off" / "admin").exists()
    build(SAMPLE, tmp_path / "on", settings_for(editor_repo="alfi/flash"), printing=False,
          search_on=False)
    admin = tmp_path / "on" / "admin"
    config = yaml.safe_load((admin / "config.yml").read_text(encoding="utf-8"))
    assert config["backend"]["repo"] == "alfi/flash"
    page = (admin / "index.html").read_text(encoding="utf-8")
    stylesheet = page.split('name="flash-stylesheet" content="')[1].split('"')[0]
    assert (tmp_path / "on" / stylesheet.lstrip("/")).is_file()
    assert (admin / "decap-cms.js").stat().st_size > 1_000_000
    assert "noindex" in page


# --- the local backend ----------------------------------------------------------------------

def test_a_save_flash_check_would_refuse_writes_nothing(tmp_path: Path) -> None:
    root = project(tmp_path)
    before = (root / ARTICLE).read_bytes()
    raw = before.decode().replace("  alt:", "  ancien_alt:", 1)
    with pytest.raises(Refused, match="n’a pas de texte alternatif"):
        backend(root).handle({"action": "persistEntry", "params": {
            "entry": {"path": ARTICLE, "raw": raw}}})
    assert (root / ARTICLE).read_bytes() == before
    with pytest.raises(Refused, match="thème inconnu « jardinage »"):
        backend(root).handle({"action": "persistEntry", "params": {
            "entry": {"path": ARTICLE, "raw": before.decode().replace(
                "environnement", "jardinage", 1)}}})
    assert (root / ARTICLE).read_bytes() == before


def test_a_good_save_writes_the_entry_and_its_image(tmp_path: Path) -> None:
    root = project(tmp_path)
    photo = next((SAMPLE / "2021-03-n195" / "images").glob("*.jpg")).read_bytes()
    raw = ("---\ntitle: Un jardin partagé\norganisation: mesolia\nimage:\n"
           "  src: images/jardin.jpg\n  alt: Des tomates\n---\nLe texte.\n")
    backend(root).handle({"action": "persistEntry", "params": {
        "entry": {"path": "issues/2021-03-n195/un-jardin-partage.md", "raw": raw},
        "assets": [{"path": "issues/2021-03-n195/images/jardin.jpg",
                    "content": base64.b64encode(photo).decode(), "encoding": "base64"}]}})
    assert (root / "issues/2021-03-n195/un-jardin-partage.md").read_text() == raw
    assert (root / "issues/2021-03-n195/images/jardin.jpg").read_bytes() == photo
    entries = backend(root).handle({"action": "entriesByFolder", "params": {
        "folder": "issues/2021-03-n195", "extension": "md", "depth": 1}})
    assert len(entries) == 7


@pytest.mark.parametrize("path", ["../escape.md", "/etc/passwd", "issues/../../x.md",
                                  "pyproject.toml", "", "issues/\x00.md", "issues",
                                  "issues/2021-03-n195"])
def test_paths_outside_the_content_folder_are_refused(tmp_path: Path, path: str) -> None:
    root = project(tmp_path)
    with pytest.raises(Refused):
        backend(root).handle({"action": "persistEntry", "params": {
            "entry": {"path": path, "raw": "x"}}})
    with pytest.raises(Refused):
        backend(root).handle({"action": "deleteFile", "params": {"path": path}})
    assert not (tmp_path.parent / "escape.md").exists()


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
ACTIONS = st.sampled_from(["info", "entriesByFolder", "entriesByFiles", "getEntry",
                           "persistEntry", "getMedia", "getMediaFile", "persistMedia",
                           "deleteFile", "deleteFiles", "getDeployPreview", "__init__", "x"])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(action=ACTIONS, params=JSON)
def test_any_request_is_answered_or_refused_in_french(tmp_path: Path, action: str,
                                                      params: object) -> None:
    """Whatever a page sends, the backend answers or refuses (Refused: a 422 with a French
    message), never fails otherwise, and never writes outside the content folder."""
    root = tmp_path / "p"
    if not root.exists():
        project(root.parent / "p-src")
        shutil.move(root.parent / "p-src", root)
    outside = sorted(p.name for p in tmp_path.iterdir())
    try:
        json.dumps(backend(root).handle({"action": action, "params": params}))
    except Refused as refusal:
        assert str(refusal)
    assert sorted(p.name for p in tmp_path.iterdir()) == outside
    assert not [p for p in root.iterdir() if p.name != "issues"]


# --- one front-matter style for Decap and flash fmt -------------------------------------------

DECAP_WRITTEN = """---
title: Gratiné.e.s, un livre de cuisine solidaire, diététique et écologique écrit par des
  habitants
organisation: mesolia
themes:
  - alimentation-sante
  - environnement
location: Bordeaux (33)
summary: >-
  Avec l’association VRAC, dix habitants signent un livre de recettes : cuisine,
  nutrition et écologie.
image:
  src: images/gratines-livre.jpg
  alt: 'La couverture du livre : « Gratiné.e.s »'
  credit: "Illustration : Flash"
links:
  - label: Le dossier de presse
    url: https://vrac-asso.org
order: 1
draft: false
---
Le texte.
"""


def test_what_decap_writes_flash_check_accepts(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ARTICLE).write_text(DECAP_WRITTEN, encoding="utf-8")
    corpus, report = load_corpus(root / "issues")
    assert corpus is not None, [d.message for d in report.errors]
    article = next(a for i in corpus.issues for a in i.articles if a.order == 1)
    assert article.title.endswith("écrit par des habitants")
    assert [t.slug for t in article.themes] == ["alimentation-sante", "environnement"]
    assert article.image is not None and article.image.alt.startswith("La couverture")


def test_flash_fmt_writes_the_editors_style_once(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = fmt(root / "issues", check=True)
    assert first.changed and not first.problems  # the sample is in the writing guide's style
    before = {p: yaml.safe_load(split_front_matter(p.read_text()).front) for p in first.changed
              if p.suffix == ".md"}
    done = fmt(root / "issues")
    assert done.changed == first.changed
    assert not fmt(root / "issues", check=True).changed  # idempotent
    for path, meta in before.items():
        assert yaml.safe_load(split_front_matter(path.read_text()).front) == meta
    result = subprocess.run([sys.executable, "-m", "flash", "check", "-s", "issues"],
                            cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    check = subprocess.run([sys.executable, "-m", "flash", "fmt", "--check", "-s", "issues"],
                           cwd=root, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and "Traceback" not in check.stderr


TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=200)


@settings(max_examples=300, deadline=None)
@given(title=TEXT, summary=TEXT, location=TEXT, alt=TEXT,
       themes=st.lists(st.sampled_from(["enfance", "emploi", "environnement"]), max_size=3),
       order=st.none() | st.integers(-5, 10**6))
def test_the_style_keeps_every_value(title: str, summary: str, location: str, alt: str,
                                     themes: list[str], order: int | None) -> None:
    """Any text a writer types, in the editor's style, reads back as the same value; that Decap
    writes the same style is checked on what it saved in tests/test_editor_browser.py."""
    data: dict = {"title": title, "organisation": "alfi", "themes": themes,
                  "location": location, "summary": summary,
                  "image": {"src": "images/a.jpg", "alt": alt}}
    if order is not None:
        data["order"] = order
    text = front_matter(data, ARTICLE_ORDER)
    read = parse_yaml(text)[0].data  # as Flash reads front matter
    assert read == data
    assert front_matter(read, ARTICLE_ORDER) == text


def test_flash_new_writes_what_the_editor_reads(tmp_path: Path) -> None:
    """`flash new` writes the writing guide's style; formatting it changes no value."""
    root = project(tmp_path)
    result = subprocess.run([sys.executable, "-m", "flash", "new", "article", "195",
                             "--organisation", "mesolia", "-s", "issues",
                             "Un jardin partagé à Bordeaux"],
                            cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = (root / "issues" / "2021-03-n195").glob("*un-jardin-partage-a-bordeaux.md")
    text, _comments = formatted(path)
    assert yaml.safe_load(split_front_matter(text).front) == {
        k: v for k, v in yaml.safe_load(split_front_matter(path.read_text()).front).items()
        if v is not None}
    assert REPO.is_dir()


def test_the_vendored_decap_is_the_pinned_version() -> None:
    """What is committed is the release vendor.py pins, and the page loads only local files."""
    from flash.editor import site, vendor

    static = REPO / "flash" / "editor" / "static"
    assert (static / "VERSION").read_text().strip() == vendor.VERSION
    assert f"decap-cms-app {vendor.VERSION}".encode() in (static / "decap-cms.js").read_bytes()
    page = site.page(corpus_of(SAMPLE), "/assets/flash.css")
    sources = [part.split('"')[0] for part in page.split('src="')[1:]]
    assert sources == ["decap-cms.js", "preview.js"]
    assert "//" not in page.replace("<!DOCTYPE html>", "")
