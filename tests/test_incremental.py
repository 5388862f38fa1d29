"""Incremental builds: which files a build renders again after an edit, that the result equals
a clean build byte for byte, that a build with nothing changed renders nothing, and that the
previous site survives a failed build. Never timings: bench/build_bench.py measures those."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO, generate, parse, settings_for

from flash.build import build
from flash.diagnostics import ContentError
from flash.output import MARKER, Staging

# The MIME boundary of the published .eml is random: the only bytes allowed to differ.
BOUNDARY = re.compile(rb"={15}\d+==")


def site_files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): BOUNDARY.sub(b"BOUNDARY", p.read_bytes())
            for p in site.rglob("*") if p.is_file() and p.name != MARKER}


def assert_same_site(site: Path, clean: Path) -> None:
    ours, theirs = site_files(site), site_files(clean)
    assert sorted(ours) == sorted(theirs)
    different = [name for name in ours if ours[name] != theirs[name]]
    assert different == []


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "issues"
    generate(root, issues=8, articles=4, seed=11, min_words=40, max_words=90)
    return root


def run(source: Path, site: Path, **options):
    return build(source, site, settings_for(), search_on=False, **options)


def article_file(source: Path, number: int, position: int) -> Path:
    return next(source.glob(f"*-n{number}/{position:02d}-*.md"))


def front(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])


def picture(path: Path, size: tuple[int, int]) -> None:
    from PIL import Image

    Image.new("RGB", size, (200, 90, 40)).save(path)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_second_build_with_nothing_changed_renders_and_writes_nothing(source: Path,
                                                                      tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = run(source, site)
    assert len(first.rendered) > first.pages  # pages, feeds, sitemap, e-mails
    before = site_files(site)
    second = run(source, site)
    assert second.rendered == []
    assert second.written == []
    assert second.parsed == 0  # every content file came from the cache
    assert (second.pages, second.files) == (first.pages, first.files)
    assert site_files(site) == before


def test_text_edit_rerenders_the_pages_that_show_the_text(source: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    run(source, site)
    path = article_file(source, 3, 2)
    meta = front(path)
    path.write_text(path.read_text(encoding="utf-8") + "\nUne phrase de plus.\n",
                    encoding="utf-8")
    report = run(source, site)
    slug = path.stem.split("-", 1)[1]
    expected = {
        f"numeros/3/{slug}/index.html",  # the article
        "numeros/3/index.html",  # its issue shows every text
        "feed.xml", f"organisations/{meta['organisation']}/feed.xml",
        *(f"themes/{theme}/feed.xml" for theme in meta["themes"]),
        "numeros/3/email.html", "numeros/3/email.txt", "numeros/3/email.eml",
        "numeros/3/flash-3.pdf",  # its printable edition (not its poster: titles only)
    }
    assert set(report.rendered) == expected
    assert report.parsed == 1
    page = parse(site / f"numeros/3/{slug}/index.html")
    assert "Une phrase de plus." in page.text_content()


def test_title_edit_rerenders_every_page_that_shows_the_title(source: Path,
                                                              tmp_path: Path) -> None:
    site = tmp_path / "site"
    run(source, site)
    path = article_file(source, 5, 2)
    meta = front(path)
    edit(path, 'title: "', 'title: "Nouveau titre : ')
    report = run(source, site)
    rendered = set(report.rendered)
    slug = path.stem.split("-", 1)[1]
    neighbours = {f"numeros/5/{article_file(source, 5, n).stem.split('-', 1)[1]}/index.html"
                  for n in (1, 3)}
    assert {f"numeros/5/{slug}/index.html", "numeros/5/index.html",
            f"organisations/{meta['organisation']}/index.html",
            *(f"themes/{t}/index.html" for t in meta["themes"])} <= rendered
    assert neighbours <= rendered  # their previous/next links show the title
    # Every page that shows the new title was rendered again. Pages are keyed by the model
    # objects they receive, so the other articles of the issue, the home page and the list of
    # issues (which receive the issue) are too; no other page is.
    pages = {p.relative_to(site).as_posix() for p in site.rglob("index.html")}
    showing = {p for p in pages if "Nouveau titre" in (site / p).read_text(encoding="utf-8")}
    rendered_pages = {p for p in rendered if p.endswith("index.html")}
    assert showing <= rendered_pages
    same_issue = {p for p in pages if p.startswith("numeros/5/")}
    assert rendered_pages - showing <= same_issue | {"index.html", "numeros/index.html"}
    assert len(rendered_pages) < len(pages) // 3


def test_incremental_output_equals_a_clean_build(source: Path, tmp_path: Path) -> None:
    site, clean = tmp_path / "site", tmp_path / "clean"
    run(source, site)
    edit(article_file(source, 2, 1), 'title: "', 'title: "Titre changé ')
    edit(article_file(source, 4, 3), "organisation: ", "organisation: alfi\n_old_org: ")
    path = article_file(source, 6, 4)
    path.write_text(path.read_text(encoding="utf-8") + "\n## Un nouvel intertitre\n\nTexte.\n",
                    encoding="utf-8")
    article_file(source, 7, 1).unlink()  # an article leaves the site
    added = article_file(source, 8, 1).with_name("09-un-nouvel-article.md")
    shutil.copy(article_file(source, 8, 1), added)
    edit(added, 'title: "', 'title: "Ajouté ')
    report = run(source, site)
    assert report.rendered
    build(source, clean, settings_for(), search_on=False, use_cache=False)
    assert_same_site(site, clean)
    assert not list(site.glob("numeros/7/article-7-1*"))


def test_removed_issue_leaves_no_file_behind(source: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    run(source, site)
    assert (site / "numeros/1/index.html").exists()
    shutil.rmtree(next(source.glob("*-n1")))
    run(source, site)
    assert not (site / "numeros/1").exists()
    build(source, tmp_path / "clean", settings_for(), search_on=False, use_cache=False)
    assert_same_site(site, tmp_path / "clean")


def test_layout_change_rerenders_every_page(source: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled templates are kept in the user's cache folder, shared by every project: the
    next build must see the edited layout, not the layout compiled before."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    project = tmp_path / "project"
    shutil.copytree(REPO / "layouts", project / "layouts")
    shutil.copytree(REPO / "assets", project / "assets")
    settings = settings_for(root=project)
    site = tmp_path / "site"
    first = build(source, site, settings, search_on=False)
    compiled = list((tmp_path / "user-cache/flash/jinja").iterdir())
    assert len(compiled) >= 10  # one per template
    edit(project / "layouts/base.html", "</footer>", "<p class=\"colophon\">Colophon</p></footer>")
    report = build(source, site, settings, search_on=False)
    pages = {name for name in first.rendered if name.endswith(".html") and "/email." not in name}
    assert pages <= set(report.rendered)  # e-mails have their own layouts: unchanged
    assert parse(site / "index.html").cssselect(".colophon")


def test_content_error_leaves_the_previous_site_untouched(source: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    run(source, site)
    before = {p: (site / p).read_bytes() for p in site_files(site)}
    marker = (site / MARKER).read_text(encoding="utf-8")
    edit(article_file(source, 2, 2), "organisation: ", "organisation: inconnue\n_x: ")
    with pytest.raises(ContentError):
        run(source, site)
    assert {p: (site / p).read_bytes() for p in site_files(site)} == before
    assert (site / MARKER).read_text(encoding="utf-8") == marker
    assert not [p for p in site.parent.iterdir() if p.name.startswith(".site-")]


def test_layout_error_after_an_edit_leaves_the_previous_site_untouched(
        source: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO / "layouts", project / "layouts")
    shutil.copytree(REPO / "assets", project / "assets")
    settings = settings_for(root=project)
    site = tmp_path / "site"
    build(source, site, settings, search_on=False)
    before = site_files(site)
    edit(article_file(source, 3, 1), 'title: "', 'title: "Modifié ')
    edit(project / "layouts/article.html", "{{ article.title }}</h1>",
         "{{ article.title }}{{ no_such_variable.attribute }}</h1>")
    with pytest.raises(Exception, match="no_such_variable"):
        build(source, site, settings, search_on=False)
    assert site_files(site) == before
    # Fixed, the next build catches up with both changes.
    edit(project / "layouts/article.html", "{{ no_such_variable.attribute }}", "")
    build(source, site, settings, search_on=False)
    build(source, tmp_path / "clean", settings, search_on=False, use_cache=False)
    assert_same_site(site, tmp_path / "clean")


def test_deleted_cache_means_a_full_build_with_the_same_result(source: Path,
                                                               tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = run(source, site)
    shutil.rmtree(source.parent / ".flash-cache")
    again = run(source, site)
    assert sorted(again.rendered) == sorted(first.rendered)
    assert again.parsed == len(list(source.rglob("*.md"))) + len(list(source.rglob("issue.yaml")))


def test_complete_staging_links_unchanged_files_and_swaps(tmp_path: Path) -> None:
    """The staging Pagefind needs: the whole new site, unchanged files as hard links."""
    final = tmp_path / "site"
    staging = Staging(final)
    staging.write_text("a/index.html", "A", key="ka")
    staging.write_text("b/index.html", "B", key="kb")
    staging.commit("one")
    previous = dict(staging.manifest)
    staging = Staging(final, previous, complete=True)
    assert staging.fresh("a/index.html", "ka")
    assert (staging.root / "a/index.html").stat().st_ino == (final / "a/index.html").stat().st_ino
    staging.write_text("c/index.html", "C", key="kc")
    assert staging.written == ["c/index.html"]
    staging.commit("two")
    assert sorted(p.relative_to(final).as_posix() for p in final.rglob("index.html")) == [
        "a/index.html", "c/index.html"]
    assert (final / "a/index.html").read_text() == "A"
    assert "build: two" in (final / MARKER).read_text(encoding="utf-8")


def test_in_place_staging_touches_nothing_before_the_commit(tmp_path: Path) -> None:
    """`flash serve`'s patch, kept in memory: an aborted build leaves the folder as it was; a
    committed one rewrites changed files in place, creates new ones and removes those that left,
    but never writes through a hard link (the image cache's files are linked into the site)."""
    final = tmp_path / "site"
    staging = Staging(final)
    for name in ("a/index.html", "b/index.html", "gone/index.html"):
        staging.write_text(name, name.upper(), key=name)
    staging.commit("one")
    cached = tmp_path / "image-cache.webp"
    cached.write_bytes(b"IMAGE")
    (final / "b/index.html").unlink()
    (final / "b/index.html").hardlink_to(cached)
    inode = (final / "a/index.html").stat().st_ino
    previous = {"a/index.html": "a", "b/index.html": "b", "gone/index.html": "g"}

    def patch() -> Staging:
        staging = Staging(final, previous, complete=False, trusted=True, in_place=True)
        staging.write_text("a/index.html", "A2", key="a2")
        staging.write_text("b/index.html", "B2", key="b2")
        staging.write_text("new/deep/index.html", "NEW", key="n")
        return staging

    patch().abort()
    assert (final / "a/index.html").read_text() == "A/INDEX.HTML"
    assert not (final / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image-cache.webp", "site"]

    staging = patch()
    staging.commit("two")
    assert (final / "a/index.html").read_text() == "A2"
    assert (final / "a/index.html").stat().st_ino == inode  # rewritten, not replaced
    assert (final / "b/index.html").read_text() == "B2"
    assert cached.read_bytes() == b"IMAGE"  # the other name of a linked file kept its content
    assert (final / "new/deep/index.html").read_text() == "NEW"
    assert not (final / "gone").exists()
    assert "build: two" in (final / MARKER).read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image-cache.webp", "site"]


def test_preview_process_keeps_up_with_every_kind_of_edit(source: Path, tmp_path: Path) -> None:
    """`flash serve` keeps its cache in memory and reuses unchanged objects between builds:
    after each edit its site equals a clean build."""
    from flash.store import MemoryStore

    cache = MemoryStore(source)
    site = tmp_path / "site"

    def check(step: str) -> set[str]:
        report = build(source, site, settings_for(), search_on=False, store=cache,
                       skip_if_unchanged=False)
        clean = tmp_path / f"clean-{step}"
        build(source, clean, settings_for(), search_on=False, use_cache=False)
        assert_same_site(site, clean)
        return set(report.rendered)

    check("first")
    assert check("nothing") == set()
    path = article_file(source, 4, 2)
    path.write_text(path.read_text(encoding="utf-8") + "\nTexte ajouté.\n", encoding="utf-8")
    assert len(check("text")) < 12
    edit(path, 'title: "', 'title: "Titre revu ')
    check("title")
    edit(next(source.glob("*-n4/issue.yaml")), "intro: \"", "intro: \"Nouvelle introduction. ")
    assert "numeros/4/index.html" in check("issue")
    edit(source / "organisations.yaml", 'name: "ALFI"', 'name: "ALFI (association)"')
    assert len(check("organisation")) > 12
    article_file(source, 6, 3).unlink()
    check("removed")

    # Images the front matter names: an unchanged issue.yaml or article file must not keep the
    # previous build's issue when a picture it shows is replaced under the same name.
    issue = article_file(source, 3, 1).parent
    (issue / "images").mkdir()
    picture(issue / "images/photo.png", (40, 30))
    picture(issue / "images/couverture.png", (64, 32))
    with (issue / "issue.yaml").open("a", encoding="utf-8") as file:
        file.write('cover:\n  src: images/couverture.png\n  alt: "Une couverture"\n')
    edit(article_file(source, 3, 2), "\n---\n", '\nimage:\n  src: images/photo.png\n'
         '  alt: "Une photo"\n---\n')
    check("pictures")
    picture(issue / "images/photo.png", (80, 20))
    assert "numeros/3/index.html" in check("photo replaced")
    picture(issue / "images/couverture.png", (48, 48))
    assert "numeros/3/index.html" in check("cover replaced")

    # Articles added, renamed (a new order), made a draft; a theme renamed
    (issue / "07-nouvel-article.md").write_text(
        '---\ntitle: "Un article ajouté"\norganisation: alfi\n---\n\nTexte ajouté.\n',
        encoding="utf-8")
    assert "numeros/3/nouvel-article/index.html" in check("added")
    first = article_file(source, 3, 1)
    first.rename(issue / ("09-" + first.name.split("-", 1)[1]))
    check("renamed")
    edit(article_file(source, 5, 1), "\n---\n", "\ndraft: true\n---\n")
    check("draft")
    edit(source / "themes.yaml", 'label: "Culture et lecture"', 'label: "Culture"')
    check("theme")
    # Its unchanged articles stay the same objects, in a new issue: their cards and feed
    # entries (kept between builds) must show the new number.
    edit(next(source.glob("*-n7/issue.yaml")), "number: 7", "number: 70")
    assert "numeros/70/index.html" in check("number")
    edit(article_file(source, 2, 1), "organisation: ", "organisation: inconnue\n_x: ")
    with pytest.raises(ContentError):
        build(source, site, settings_for(), search_on=False, store=cache,
              skip_if_unchanged=False)
    edit(article_file(source, 2, 1), "organisation: inconnue\n_x: ", "organisation: ")
    check("fixed")


def test_preview_manifest_is_stored_when_the_preview_stops(source: Path, tmp_path: Path
                                                           ) -> None:
    """`flash serve` keeps its folder's manifest in memory between builds and stores it when it
    stops: the next preview reuses the folder. Killed before, the next one starts afresh."""
    from flash.store import MemoryStore

    def preview_session(site: Path, stops: bool) -> None:
        cache = MemoryStore(source)
        build(source, site, settings_for(), search_on=False, store=cache, skip_if_unchanged=False)
        path = article_file(source, 2, 1)
        path.write_text(path.read_text(encoding="utf-8") + "\nEncore.\n", encoding="utf-8")
        build(source, site, settings_for(), search_on=False, store=cache, skip_if_unchanged=False)
        if stops:
            cache.save()

    clean = tmp_path / "clean"
    for stops, site in ((True, tmp_path / "stopped"), (False, tmp_path / "killed")):
        preview_session(site, stops)
        again = build(source, site, settings_for(), search_on=False,
                      store=MemoryStore(source),
                      skip_if_unchanged=False)
        build(source, clean, settings_for(), search_on=False, use_cache=False)
        assert_same_site(site, clean)
        if stops:
            assert again.rendered == [] and again.written == []
        else:
            assert len(again.written) == len(site_files(clean))


def test_listing_from_the_look_for_changes_equals_a_walk(source: Path) -> None:
    """The build lists the content from the walk that looked for changes: same folders and
    files as validate's own walk, hidden folders left out, and a new file seen at once."""
    from flash.digests import tree_stamp
    from flash.validate import Listed, _list, _tree

    (source / "_brouillons").mkdir()
    (source / "_brouillons/idee.md").write_text("---\ntitle: x\n---\nTexte\n", encoding="utf-8")
    (source / ".git/objects").mkdir(parents=True)
    (source / ".git/objects/ab").write_bytes(b"x")
    stats: dict = {}
    tree_stamp([source], "", stats)
    walked = {folder: names for folder, names in _tree(source).items() if names}
    listed = Listed()
    first = _list(source, stats, listed)
    assert first.tree == walked
    found = first.found
    assert not any("_brouillons" in str(p) or ".git" in str(p) for p in found)
    assert _list(source, dict(stats), listed).found is found  # the same listing: kept
    issue = sorted(p.parent for p in found if p.name == "issue.yaml")[0]
    (issue / "99-nouveau.md").write_text("---\ntitle: y\n---\nTexte\n", encoding="utf-8")
    stats = {}
    tree_stamp([source], "", stats)
    again = _list(source, stats, listed).found
    assert set(again) - set(found) == {issue / "99-nouveau.md"} and len(again) == len(found) + 1
    assert _list(source, None, Listed()).found == again  # a walk finds the same


def test_read_file_reads_whole_files_whatever_size_it_is_told(tmp_path: Path) -> None:
    from flash.parse_cache import read_file

    path = tmp_path / "article.md"
    for data in (b"", b"x", "é’« »\n".encode() * 5000):
        path.write_bytes(data)
        # the size the look for changes saw, or a stale one (the file changed since), or none
        for told in (len(data), 0, len(data) - 1, len(data) + 7, -1):
            assert read_file(path, told) == data


# --- every kind of edit, incremental against clean, for `flash build` and `flash serve` -------

def _project(tmp_path: Path, source: Path) -> Path:
    """Layouts and assets of the project's own, so that an edit of a layout can be tried."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "layouts", project / "layouts")
    shutil.copytree(REPO / "assets", project / "assets")
    return project


def _with_picture(source: Path) -> Path:
    """Issue 3 gets a photo in its first article; returns the photo's file."""
    folder = article_file(source, 3, 1).parent
    (folder / "images").mkdir(exist_ok=True)
    picture(folder / "images/photo.png", (40, 30))
    edit(article_file(source, 3, 1), "\n---\n", '\nimage:\n  src: images/photo.png\n'
         '  alt: "Une photo"\n---\n')
    return folder / "images/photo.png"


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


EDITS = {
    "text": lambda s, p: _append(article_file(s, 4, 2), "\nUne phrase de plus.\n"),
    "title": lambda s, p: edit(article_file(s, 2, 1), 'title: "', 'title: "Titre changé '),
    "number": lambda s, p: edit(next(s.glob("*-n7/issue.yaml")), "number: 7", "number: 70"),
    "date": lambda s, p: edit(next(s.glob("*-n5/issue.yaml")), 'date: "', 'date: "1999-12"\n_d: "'),
    "organisation colour": lambda s, p: edit(s / "organisations.yaml", 'colour: "#c8102e"',
                                             'colour: "#2e7d32"'),
    "theme label": lambda s, p: edit(s / "themes.yaml", 'label: "Insertion et emploi"',
                                     'label: "Emploi"'),
    "image replaced": lambda s, p: picture(article_file(s, 3, 1).parent / "images/photo.png",
                                           (80, 20)),
    "layout": lambda s, p: edit(p / "layouts/base.html", "</footer>",
                                '<p class="colophon">Colophon</p></footer>'),
    "article added": lambda s, p: (article_file(s, 6, 1).parent / "08-ajout.md").write_text(
        '---\ntitle: "Un article ajouté"\norganisation: alfi\n---\n\nTexte ajouté.\n',
        encoding="utf-8"),
    "article renamed": lambda s, p: article_file(s, 6, 1).rename(
        article_file(s, 6, 1).with_name("09-renomme.md")),
    "article removed": lambda s, p: article_file(s, 8, 2).unlink(),
    "made a draft": lambda s, p: edit(article_file(s, 5, 1), "\n---\n", "\ndraft: true\n---\n"),
}


@pytest.mark.parametrize("serve", [False, True], ids=["build", "serve"])
@pytest.mark.parametrize("kind", [*EDITS, "settings"])
def test_each_kind_of_edit_gives_the_clean_build(source: Path, tmp_path: Path, kind: str,
                                                serve: bool) -> None:
    """After one edit of each kind, the incremental site equals a clean build of the same
    content, for `flash build` (cache on disk) and for `flash serve` (cache in memory)."""
    from flash.store import MemoryStore

    project = _project(tmp_path, source)
    _with_picture(source)
    settings = settings_for(root=project)
    cache = MemoryStore(source) if serve else None
    site = tmp_path / "site"

    def incremental(settings):
        return build(source, site, settings, search_on=False, store=cache,
                     skip_if_unchanged=not serve)

    incremental(settings)
    if kind == "settings":
        settings = settings_for(root=project, title="Flash, la lettre des initiatives")
    else:
        EDITS[kind](source, project)
    report = incremental(settings)
    assert report.rendered, kind
    clean = tmp_path / "clean"
    build(source, clean, settings, search_on=False, use_cache=False)
    assert_same_site(site, clean)


def test_page_signatures_compare_by_value_not_by_identity(source: Path) -> None:
    """Two loads of the same files give distinct objects with equal signatures; after a
    title edit, exactly the pages given the article or its issue (its page, its issue's, its
    neighbours', lists, cards) get another signature."""
    from flash.archive import build_archive
    from flash.build import load
    from flash.pages import plan

    def pages() -> dict[str, object]:
        corpus, _ = load(source)
        return {page.url: page for page in plan(build_archive(corpus), per_page=5)}

    first, again = pages(), pages()
    assert all(first[url] is not again[url] for url in first)
    assert all(first[url].signature() == again[url].signature() for url in first)
    edited = sorted(source.rglob("*.md"))[5]
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text.replace("title: ", "title: Nouveau titre, ", 1), encoding="utf-8")
    after = pages()
    changed = {url for url in first if first[url].signature() != after[url].signature()}
    showing = {url for url, page in after.items()
               if any(getattr(value, "source", None) == edited for value in _walk(page.context))}
    assert changed and changed == showing, changed ^ showing
    assert len(changed) < len(first) / 2


def _walk(value: object):
    """Every value a page is given, an issue's articles included."""
    if hasattr(value, "articles") and hasattr(value, "head"):
        yield from _walk(value.articles)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    else:
        yield value
