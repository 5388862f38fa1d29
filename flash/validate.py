"""From raw files to the content model: every file and every check, all problems collected."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flash import colours, parse, urls
from flash.diagnostics import (
    Collector,
    Diagnostic,
    closest_files,
    computer_path,
    did_you_mean,
    looks_like_computer_path,
    shown,
    suggestion,
)
from flash.model import Article, Corpus, Image, Issue, IssueHead, Link, Organisation, Theme
from flash.paths import image_cache_dir
from flash.sources import SourceError, Yaml, parse_yaml, read_text
from flash.typography import french
from flash.value_digest import digest_of

if TYPE_CHECKING:
    from flash import images

ARTICLE_KEYS = {"title", "organisation", "themes", "location", "summary", "image", "links",
                "order", "draft"}
ISSUE_KEYS = {"number", "date", "title", "intro", "cover", "preheader"}
ORGANISATION_KEYS = {"name", "url", "colour", "logo"}
THEME_KEYS = {"label", "description"}
IMAGE_KEYS = {"src", "alt", "credit"}
LIST_ITEM_KEYS = {"label", "url"}  # the keys of each item of `links`
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
LINK_URL = re.compile(r"^(https?://\S+|mailto:\S+@\S+)$")
DEFAULT_COLOUR = "#4a5568"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif"}
TYPE_NAMES = {str: "un texte", int: "un nombre entier", bool: "true ou false", list: "une liste",
              dict: "un ensemble de clés"}


def _not_kind(value: object, kind: type) -> str:
    """What a wrongly typed value is, in the team's words (never Python's repr)."""
    if isinstance(value, (dict, list)):
        what = TYPE_NAMES[dict if isinstance(value, dict) else list]
        hint = " ; si c’est du texte, mettez-le entre guillemets" if kind is str else ""
        return f"pas {what}{hint}"
    return f"pas « {shown(value)} »"


@dataclass
class Context:
    root: Path
    report: Collector
    images: dict[Path, images.Info | str]  # inspected image files, or why they are refused
    image_cache: Path | None = None
    # Files parsed ahead (in worker processes, or taken from the build cache): see flash.parse.
    prepared: dict[Path, parse.Parsed] = field(default_factory=dict)
    # `flash serve`: each article and issue as the previous build checked it (by the path of
    # its .md or issue.yaml) with the key of what it was made from (see _article, _issue)
    reuse: dict[Path, tuple] | None = None
    registries: bytes = b""  # digest of the organisations and themes, when reusing
    # folder -> names of its files, for every folder under the content root that is not hidden
    tree: dict[Path, list[str]] = field(default_factory=dict)
    files: dict[Path, list[Path]] = field(default_factory=dict)  # issue folder -> its articles
    # registries (organisations.yaml, themes.yaml) missing or unreadable: their error is the one
    # to fix, articles naming what they would declare are not reported on top of it
    unread: set[str] = field(default_factory=set)


# (files, content root) -> their parsed form; the build gives one that caches and parallelises
Prepare = Callable[[list[Path], Path], dict[Path, parse.Parsed]]


@dataclass
class Listed:
    """The content files found in a listing of the content folder, and that listing: `flash
    serve` lists the same files after each edit, and making 1,400 Path objects costs several
    ms (see BENCHMARKS.md)."""

    paths: frozenset[str] = frozenset()
    tree: dict[Path, list[str]] = field(default_factory=dict)
    found: tuple[Path, ...] = ()
    files: dict[Path, list[Path]] = field(default_factory=dict)  # issue folder -> its articles


def load_corpus(source: Path, *, drafts: bool = False, report: Collector | None = None,
                prepare: Prepare | None = None, reuse: dict[Path, tuple] | None = None,
                listing: Iterable[str] | None = None, listed: Listed | None = None
                ) -> tuple[Corpus | None, Collector]:
    """Reads and checks the whole content folder. The corpus is None when any error is found.
    `listing`: every file under `source` (and maybe others), as a walk just saw them; `listed`:
    what the last build found in its listing, updated. `reuse`: see Context.reuse."""
    report = report or Collector(source)
    if not source.is_dir():
        report.error(source, None, "dossier de contenu introuvable")
        return None, report
    ctx = Context(source.resolve(), report, {}, image_cache_dir(source), reuse=reuse)
    if prepare is not None:
        found = _list(source, listing, listed or Listed())
        ctx.tree, ctx.files = found.tree, dict(found.files)
        ctx.prepared = prepare(list(found.found), ctx.root)
    else:
        ctx.tree = _tree(source) if listing is None else _tree_from(source, listing)
    organisations = _load_organisations(ctx, source / "organisations.yaml")
    themes = _load_themes(ctx, source / "themes.yaml")
    if reuse is not None:
        ctx.registries = digest_of(organisations, themes)
    issues = _load_issues(ctx, source, organisations, themes, drafts)
    if report.errors:
        return None, report
    used_orgs = sorted(organisations.values(), key=lambda o: o.name.casefold())
    corpus = Corpus(
        issues=tuple(sorted(issues, key=lambda i: (i.date, i.number), reverse=True)),
        organisations=tuple(used_orgs),
        themes=tuple(sorted(themes.values(), key=lambda t: t.label.casefold())),
    )
    return corpus, report


def _tree(source: Path) -> dict[Path, list[str]]:
    """One walk of the content folder (os.scandir: `flash serve` does this after every edit),
    skipping hidden folders (. or _), as the content rules do."""
    tree: dict[Path, list[str]] = {}
    pending = [source]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        tree[folder] = sorted(e.name for e in entries if e.is_file())
        pending.extend(folder / e.name for e in entries
                       if e.is_dir() and not e.name.startswith((".", "_")))
    return tree


def _list(source: Path, listing: Iterable[str] | None, listed: Listed) -> Listed:
    """The content files, from the listing of a walk already done when there is one, else from
    a walk; `listed` is kept when the listing is the same as its own."""
    if listing is None:
        tree = _tree(source)
        listed.paths = frozenset()
    else:
        paths = frozenset(listing)
        if paths and paths == listed.paths:
            return listed
        tree = _tree_from(source, paths)
        listed.paths = paths
    listed.tree, listed.files = tree, {}
    listed.found = tuple(content_files(source, tree, listed.files))
    return listed


def _tree_from(source: Path, listing: Iterable[str]) -> dict[Path, list[str]]:
    prefix = str(source) + os.sep
    names: dict[str, list[str]] = {}
    for path in listing:
        if path.startswith(prefix):
            folder, _, name = path[len(prefix):].rpartition(os.sep)
            names.setdefault(folder, []).append(name)
    tree: dict[Path, list[str]] = {}
    for folder in sorted(names):
        parts = folder.split(os.sep) if folder else []
        if not any(part.startswith((".", "_")) for part in parts):
            tree[source.joinpath(*parts)] = sorted(names[folder])
    return tree


def _issue_files(tree: dict[Path, list[str]]) -> list[Path]:
    return sorted(folder / "issue.yaml" for folder, names in tree.items() if "issue.yaml" in names)


def _articles_in(tree: dict[Path, list[str]], folder: Path) -> list[Path]:
    return [folder / name for name in tree.get(folder, ())
            if name.endswith(".md") and not name.startswith((".", "_"))]


def _article_files(ctx: Context, folder: Path) -> list[Path]:
    files = ctx.files.get(folder)
    return files if files is not None else _articles_in(ctx.tree, folder)


def content_files(source: Path, tree: dict[Path, list[str]] | None = None,
                  files: dict[Path, list[Path]] | None = None) -> list[Path]:
    """Every issue.yaml and article file: the files flash.parse can handle ahead. `files`
    receives the article files of each issue folder."""
    tree = tree if tree is not None else _tree(source)
    files = files if files is not None else {}
    found: list[Path] = []
    for marker in _issue_files(tree):
        found.append(marker)
        files[marker.parent] = _articles_in(tree, marker.parent)
        found.extend(files[marker.parent])
    return found


def parse_resolvers(root: Path, image_cache: Path | None) -> parse.ResolverFactory:
    """Image resolvers for files parsed apart (another process): they report into a private
    collector, since the build replays every image reference through its own resolver."""
    ctx = Context(root, Collector(root), {}, image_cache)
    return lambda path, base, offset: _image_resolver(ctx, path, base, offset)


# --- helpers -------------------------------------------------------------------------------

def _read_yaml(ctx: Context, path: Path) -> Yaml | None:
    try:
        doc, duplicates = parse_yaml(read_text(path))
    except SourceError as exc:
        ctx.report.error(path, exc.line, exc.message)
        return None
    except OSError as exc:
        ctx.report.error(path, None, f"lecture impossible ({exc.strerror})")
        return None
    for key, line in duplicates:
        ctx.report.error(path, line, f"la clé « {shown(key)} » est écrite deux fois")
    return doc


def _typed(ctx: Context, path: Path, doc: Yaml, key: str, kind: type, *,
           required: bool = False, where: tuple[str | int, ...] = ()) -> Any:
    data = doc.data
    for part in where:
        data = data[part]
    value = data.get(key) if isinstance(data, dict) else None
    full = ".".join(str(p) for p in (*where, key)) if where else key  # for the messages
    if value is None:
        _missing(ctx, path, doc, key, full, required, present=isinstance(data, dict)
                 and key in data, where=where)
        return None
    if kind is int and isinstance(value, str) and value.strip().isascii() \
            and value.strip().isdigit():
        # number: "196": quoted as the guide quotes the date; its meaning is plain
        if len(value.strip()) > 9:
            ctx.report.error(path, doc.line(*where, key), f"« {full} » est trop grand")
            return None
        value = int(value.strip())
    if kind is str and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # title: 1984: the digits as written (007 stays a text already)
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        ctx.report.error(path, doc.line(*where, key),
                         f"« {full} » doit être {TYPE_NAMES[kind]}, {_not_kind(value, kind)}")
        return None
    if kind is str:
        value = value.strip()
        if required and not value:
            ctx.report.error(path, doc.line(*where, key), f"« {full} » est vide")
            return None
    return value


def _missing(ctx: Context, path: Path, doc: Yaml, key: str, full: str, required: bool, *,
             present: bool, where: tuple[str | int, ...]) -> None:
    """A key absent or null (empty, ~, null): missing alike. A comment on the key's line is
    the likely cause: « title: # Bilan » is an empty title."""
    comment = doc.comments.get(full)
    if comment is not None:
        message = (f"« {full} » est vide : en YAML, « # » commence un commentaire, et "
                   f"« {shown(comment, 40)} » est ignoré ; si c’est la valeur, mettez-la entre "
                   f"guillemets ({key}: \"{shown(comment, 40)}\")")
        if required or key == "colour":
            ctx.report.error(path, doc.line(*where, key), message)
        else:
            ctx.report.warning(path, doc.line(*where, key), message)
    elif required and present:
        ctx.report.error(path, doc.line(*where, key),
                         f"la clé obligatoire « {full} » est vide : écrivez sa valeur")
    elif required:
        ctx.report.error(path, doc.line(*where), f"la clé obligatoire « {full} » manque")


def _unknown_keys(ctx: Context, path: Path, doc: Yaml, data: dict, known: set[str],
                  where: tuple[str | int, ...] = ()) -> None:
    for key in data:
        if key not in known:
            name = str(key)
            if name.startswith("-") and name[1:] in known | LIST_ITEM_KEYS:
                ctx.report.error(path, doc.line(*where, name),
                                 f"il manque une espace après le tiret : écrivez "
                                 f"« - {name[1:]}: » (un tiret, une espace, puis la clé)")
                continue
            close = did_you_mean(name[:100], {k: k for k in known})
            hint = f" Vouliez-vous dire « {close} » ?" if close else ""
            if not close and not where and name in IMAGE_KEYS:
                hint = (f" Si « {name} » décrit l’image, décalez-la de deux espaces sous "
                        "« image: » (ou « cover: »), comme « src ».")
            ctx.report.warning(path, doc.line(*where, name),
                               f"clé inconnue « {shown(name)} », ignorée.{hint}")


def _resolve_file(ctx: Context, base: Path, src: str, written: str = "src: images/{name}"
                  ) -> tuple[Path | None, str | None]:
    """The image file `src` names, relative to `base`, or the reason it is refused.
    `written`: how the file is named once in the issue's images/ folder, for the messages."""
    if looks_like_computer_path(src):
        return None, computer_path(src, written)
    if re.match(r"^[a-z][a-z0-9+.-]*:", src, re.I):
        return None, (f"l’image « {shown(src)} » doit être un fichier du dossier, pas une "
                      "adresse web : enregistrez l’image dans le dossier images/ du numéro, "
                      f"puis écrivez {written.format(name='photo.jpg')}")
    if src.startswith(("/", "\\")):
        return None, (f"chemin absolu interdit pour l’image « {shown(src)} » : "
                      "écrivez-le relatif au fichier")
    try:
        target = (base / src).resolve()
        try:
            target.relative_to(ctx.root)
        except ValueError:
            return None, f"l’image « {shown(src)} » est en dehors du dossier de contenu"
        found = target.is_file()
    except (OSError, ValueError):  # a name too long for the system, a NUL character…
        return None, (f"le chemin de l’image « {shown(src)} » ({len(src)} caractères) ne peut "
                      "pas être celui d’un fichier : donnez à l’image un nom court, puis "
                      f"écrivez {written.format(name='jardin.jpg')}")
    if not found:
        return None, _not_found(base, src)
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        return None, (f"« {shown(src)} » n’est pas une image (formats acceptés : JPEG, PNG, "
                      "WebP, GIF)")
    if target not in ctx.images:
        # Pillow and the image pipeline are loaded by the first article that shows an image.
        from flash import images

        try:
            ctx.images[target] = images.inspect(target, ctx.image_cache)
        except images.ImageProblem as problem:
            ctx.images[target] = str(problem)
    info = ctx.images[target]
    if isinstance(info, str):
        return None, french(f"image « {shown(src)} » refusée : {info}")
    return target, None


def _not_found(base: Path, src: str) -> str:
    """« image introuvable », with the images the folder does hold, closest first."""
    folder = (base / src).parent
    wanted = src.replace("\\", "/").rsplit("/", 1)[-1][:200]
    try:
        names = sorted(e.name for e in os.scandir(folder)
                       if e.is_file() and Path(e.name).suffix.lower() in IMAGE_SUFFIXES)
    except OSError:
        where = src.replace("\\", "/").rpartition("/")[0] or "."
        return (f"image introuvable : « {shown(src)} » (le dossier « {shown(where)} » n’existe "
                "pas à côté de ce fichier ; les images d’un numéro vont dans son dossier "
                "images/)")
    prefix = src.replace("\\", "/").rpartition("/")[0]
    prefix = f"{prefix}/" if prefix else ""
    same_case, ranked = closest_files(wanted, names)
    if same_case is not None:
        return (f"image introuvable : « {shown(src)} » ; le dossier contient « {prefix}"
                f"{same_case} », qui ne diffère que par les majuscules et les minuscules : le "
                "site les distingue, écrivez le nom exactement comme celui du fichier")
    if not names:
        return f"image introuvable : « {shown(src)} » (ce dossier ne contient aucune image)"
    listed = ", ".join(f"« {prefix}{name} »" for name in ranked[:5])
    more = f" (et {len(names) - 5} autres)" if len(names) > 5 else ""
    return (f"image introuvable : « {shown(src)} » ; images de ce dossier, la plus proche "
            f"d’abord : {listed}{more}")


def _image_warnings(ctx: Context, path: Path, line: int | None, src: str, target: Path) -> None:
    info = ctx.images[target]
    if not isinstance(info, str) and info.animated:
        ctx.report.warning(path, line, french(
            f"l’image « {src} » est animée : seule sa première image sera publiée (le site et "
            "l’e-mail n’affichent pas d’animation)"))


def _model_image(ctx: Context, target: Path, alt: str, credit: str | None) -> Image:
    info = ctx.images[target]
    assert not isinstance(info, str)
    return Image(source=target, key=target.relative_to(ctx.root).as_posix(), alt=alt,
                 credit=credit, width=info.width, height=info.height, digest=info.digest,
                 transparent=info.transparent)


def _image(ctx: Context, path: Path, doc: Yaml, key: str, *, alt_default: str | None = None,
           where: tuple[str | int, ...] = ()) -> Image | None:
    data = doc.data
    for part in where:
        data = data[part]
    raw = data.get(key)
    if raw is None:
        full = ".".join(str(p) for p in (*where, key))
        _missing(ctx, path, doc, key, full, False, present=key in data, where=where)
        return None
    if isinstance(raw, str):
        raw = {"src": raw}
        data[key] = raw
    if not isinstance(raw, dict):
        ctx.report.error(path, doc.line(*where, key),
                         f"« {key} » doit contenir src, alt et credit (un ensemble de clés)")
        return None
    _unknown_keys(ctx, path, doc, raw, IMAGE_KEYS, (*where, key))
    src = _typed(ctx, path, doc, "src", str, required=True, where=(*where, key))
    # alt left empty, ~ or null is missing as much as no alt at all (a logo's is its name)
    needs_alt = alt_default is None
    commented = ".".join(str(p) for p in (*where, key, "alt")) in doc.comments
    alt = _typed(ctx, path, doc, "alt", str, where=(*where, key),
                 required=needs_alt and commented)
    credit = _typed(ctx, path, doc, "credit", str, where=(*where, key))
    if needs_alt and not alt and not commented:
        ctx.report.error(path, doc.line(*where, key, "alt"),
                         f"l’image{f' « {shown(src)} »' if src else ''} n’a pas de texte "
                         "alternatif (alt) : "
                         "décrivez-la pour les lecteurs qui ne la voient pas")
    if src is None:
        return None
    target, problem = _resolve_file(ctx, path.parent, src)
    if problem:
        ctx.report.error(path, doc.line(*where, key, "src"), problem)
        return None
    assert target is not None
    _image_warnings(ctx, path, doc.line(*where, key, "src"), src, target)
    return _model_image(ctx, target, french(alt or alt_default or ""),
                        french(credit) if credit else None)


def _mapping_file(ctx: Context, path: Path, what: str) -> tuple[Yaml | None, dict]:
    if not path.is_file():
        ctx.report.error(path, None, f"fichier manquant : il déclare {what}")
        ctx.unread.add(path.name)
        return None, {}
    doc = _read_yaml(ctx, path)
    if doc is None:
        ctx.unread.add(path.name)
        return None, {}
    if not isinstance(doc.data, dict):
        ctx.report.error(path, 1, f"ce fichier doit associer à chaque identifiant {what}")
        ctx.unread.add(path.name)
        return None, {}
    return doc, doc.data


def _entry(ctx: Context, path: Path, doc: Yaml, slug: Any, value: Any, known: set[str],
           required: str) -> bool:
    if not isinstance(slug, str) or not SLUG.match(slug):
        ctx.report.error(path, doc.line(str(slug)),
                         f"identifiant « {shown(slug)} » invalide : minuscules, chiffres et tirets")
        return False
    if not isinstance(value, dict):
        ctx.report.error(path, doc.line(slug),
                         f"« {shown(slug)} » doit avoir au moins « {required} »")
        return False
    _unknown_keys(ctx, path, doc, value, known, (slug,))
    return True


# --- registries ----------------------------------------------------------------------------

def _load_organisations(ctx: Context, path: Path) -> dict[str, Organisation]:
    doc, data = _mapping_file(ctx, path, "une organisation (name, url, colour, logo)")
    result: dict[str, Organisation] = {}
    for slug, value in data.items():
        if doc is None or not _entry(ctx, path, doc, slug, value, ORGANISATION_KEYS, "name"):
            continue
        name = _typed(ctx, path, doc, "name", str, required=True, where=(slug,))
        url = _typed(ctx, path, doc, "url", str, where=(slug,))
        colour = _typed(ctx, path, doc, "colour", str, where=(slug,)) or DEFAULT_COLOUR
        if not colours.HEX.match(colour):
            ctx.report.error(path, doc.line(slug, "colour"),
                             f"couleur « {shown(colour)} » invalide : écrivez-la « #rrvvbb », "
                             "par exemple « #0a6e3c »")
            colour = DEFAULT_COLOUR
        if url and not url.startswith(("http://", "https://")):
            ctx.report.error(path, doc.line(slug, "url"),
                             f"adresse « {shown(url)} » invalide : elle doit commencer par https://")
            url = None
        logo = _image(ctx, path, doc, "logo", alt_default=name or slug, where=(slug,))
        if name is None:
            continue
        background, on_colour = colours.readable_background(colour.lower())
        result[slug] = Organisation(slug=slug, name=name, url=url, colour=background,
                                    on_colour=on_colour,
                                    ink=colours.readable_on_white(colour.lower()), logo=logo)
    return result


def _load_themes(ctx: Context, path: Path) -> dict[str, Theme]:
    doc, data = _mapping_file(ctx, path, "un thème (label, description)")
    result: dict[str, Theme] = {}
    for slug, value in data.items():
        if doc is None or not _entry(ctx, path, doc, slug, value, THEME_KEYS, "label"):
            continue
        label = _typed(ctx, path, doc, "label", str, required=True, where=(slug,))
        description = _typed(ctx, path, doc, "description", str, where=(slug,))
        if label is not None:
            result[slug] = Theme(slug, french(label), french(description) if description else None)
    return result


# --- issues and articles -------------------------------------------------------------------

def _load_issues(ctx: Context, source: Path, organisations: dict[str, Organisation],
                 themes: dict[str, Theme], drafts: bool) -> list[Issue]:
    # content_files listed them already when files were parsed ahead (in the same order)
    folders = list(ctx.files) or [marker.parent for marker in _issue_files(ctx.tree)]
    with_articles = {f for f, names in ctx.tree.items() if any(n.endswith(".md") for n in names)}
    for orphan in sorted(with_articles - set(folders)):
        if orphan != source and not any(part.startswith((".", "_")) for part in orphan.parts):
            ctx.report.warning(orphan, None, "dossier ignoré : il n’a pas de fichier issue.yaml")
    issues: list[Issue] = []
    numbers: dict[int, Path] = {}
    for folder in folders:
        number, line, issue = _issue(ctx, folder, organisations, themes, drafts)
        if number is not None and number in numbers:
            ctx.report.error(folder / "issue.yaml", line,
                             f"le numéro {number} est déjà utilisé par "
                             f"{ctx.report.display(numbers[number] / 'issue.yaml')}")
            continue
        if number is not None:
            numbers[number] = folder
        if issue is not None:
            issues.append(issue)
    return issues


def _parse_month(ctx: Context, path: Path, doc: Yaml) -> dt.date | None:
    raw = doc.data.get("date")
    line = doc.line("date")
    if raw is None:
        if "date" in doc.comments or "date" in doc.data:
            _missing(ctx, path, doc, "date", "date", True, present=True, where=())
        else:
            ctx.report.error(path, doc.line(),
                             "la clé obligatoire « date » manque (ex. : date: \"2021-03\")")
        return None
    text = str(raw).strip()
    day = DAY.match(text)
    if day:  # the loader leaves dates as written: 2021-02-30 is checked here, in French
        year, month, number = (int(part) for part in day.groups())
        try:
            dt.date(year, month, number)
        except ValueError:
            ctx.report.error(path, line, f"date « {shown(text)} » impossible : ce jour n’existe "
                             f"pas ; « date » attend d’ailleurs l’année et le mois seuls, par "
                             f"exemple « {year:04d}-{min(max(month, 1), 12):02d} »")
            return None
        ctx.report.error(path, line, f"« date » doit être un mois, « {year:04d}-{month:02d} », "
                         "pas un jour")
        return None
    match = MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        ctx.report.error(path, line, f"date « {shown(raw)} » invalide : écrivez l’année et le "
                         "mois, par exemple « 2021-03 »")
        return None
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def _issue(ctx: Context, folder: Path, organisations: dict[str, Organisation],
           themes: dict[str, Theme], drafts: bool) -> tuple[int | None, int, Issue | None]:
    """_load_issue, or what the previous build made of the same issue.yaml and article files
    (by their content), the same registries and the same image files, with the same
    diagnostics."""
    path = folder / "issue.yaml"
    parsed = ctx.prepared.get(path)
    if ctx.reuse is None or parsed is None:
        return _load_issue(ctx, folder, organisations, themes, drafts)
    files = tuple(_article_files(ctx, folder))
    key = (parsed.digest, files, tuple(_digest(ctx, file) for file in files), ctx.registries,
           drafts)
    entry = ctx.reuse.get(path)
    if entry is not None and entry[0] == key and parse.unchanged(entry[3]):
        ctx.report.items.extend(entry[2])
        return entry[1]
    before = len(ctx.report.items)
    result = _load_issue(ctx, folder, organisations, themes, drafts)
    issue = result[2]
    shown = [issue.cover] if issue is not None else []
    for article in issue.articles if issue is not None else ():
        shown += (article.image, *article.images)
    ctx.reuse[path] = (key, result, ctx.report.items[before:],
                       parse.stats(i.source for i in shown if i))
    return result


def _digest(ctx: Context, path: Path) -> bytes | None:
    parsed = ctx.prepared.get(path)
    return parsed.digest if parsed is not None else None


# The issue of articles whose issue.yaml has errors: checked all the same, never published.
_UNPUBLISHED = IssueHead(0, dt.date(1, 1, 1), "", "", None, None, Path())


def _load_issue(ctx: Context, folder: Path, organisations: dict[str, Organisation],
                themes: dict[str, Theme], drafts: bool
                ) -> tuple[int | None, int, Issue | None]:
    """The issue's number and its line (for duplicate checks), and the issue if valid."""
    path = folder / "issue.yaml"
    parsed = ctx.prepared.get(path)
    doc = _read_yaml(ctx, path) if parsed is None else _parsed_yaml(ctx, path, parsed)
    if doc is not None and not isinstance(doc.data, dict):
        ctx.report.error(path, 1, "issue.yaml doit contenir des clés (number, date…)")
        doc = None
    head, number, line, left = None, None, 1, ()
    if doc is not None:
        head, number, left = _issue_head(ctx, path, folder, doc, parsed)
        line = doc.line("number")
    articles = _load_articles(ctx, folder, organisations, themes, drafts, head or _UNPUBLISHED)
    if head is None or articles is None:
        return number, line, None
    if not articles:
        ctx.report.warning(path, None, "ce numéro n’a aucun article publié")
    return number, line, Issue(head, tuple(articles), left)


def _issue_head(ctx: Context, path: Path, folder: Path, doc: Yaml, parsed: parse.Parsed | None
                ) -> tuple[IssueHead | None, int | None, tuple[Diagnostic, ...]]:
    """The issue's own fields, if valid; its number; its sample texts of `flash new`."""
    _unknown_keys(ctx, path, doc, doc.data, ISSUE_KEYS)
    number = _typed(ctx, path, doc, "number", int, required=True)
    if number is not None and number <= 0:
        ctx.report.error(path, doc.line("number"), "le numéro doit être positif")
        number = None
    date = _parse_month(ctx, path, doc)
    title = _typed(ctx, path, doc, "title", str) or "Flash initiatives locales"
    intro = _typed(ctx, path, doc, "intro", str) or ""
    preheader = _typed(ctx, path, doc, "preheader", str)
    cover = _image(ctx, path, doc, "cover")
    left = _placeholders(ctx, path, doc, ())
    if number is None or date is None:
        return None, number, left
    typeset = dict(parsed.typeset) if parsed is not None else {}
    head = IssueHead(number=number, date=date, title=_french(typeset, title),
                     intro_html=_intro_html(ctx, path, folder, doc, intro, parsed),
                     preheader=_french(typeset, preheader) if preheader else None,
                     cover=cover, folder=folder)
    return head, number, left


def _parsed_yaml(ctx: Context, path: Path, parsed: parse.Parsed) -> Yaml | None:
    if parsed.error is not None:
        ctx.report.error(path, *parsed.error)
        return None
    for key, line in parsed.duplicates:
        ctx.report.error(path, line, f"la clé « {shown(key)} » est écrite deux fois")
    return parsed.front


def _intro_html(ctx: Context, path: Path, folder: Path, doc: Yaml, intro: str,
                parsed: parse.Parsed | None) -> str:
    if not intro:
        return ""
    resolve = _image_resolver(ctx, path, folder, doc.line("intro"))
    if parsed is not None and parsed.rendered is not None:
        for src, line in parsed.image_refs:
            resolve(src, line)
        return parsed.rendered.html
    from flash import markdown  # imported after the build's workers start, by each of them

    return markdown.render(intro, resolve).html


def _image_resolver(ctx: Context, path: Path, base: Path, offset: int = 0):
    def resolve(src: str, line: int) -> images.BodyPicture | None:
        target, problem = _resolve_file(ctx, base, src, "![description](images/{name})")
        if problem:
            ctx.report.error(path, line + offset, problem)
            return None
        assert target is not None
        _image_warnings(ctx, path, line + offset, src, target)
        from flash import images

        return images.BodyPicture(_model_image(ctx, target, "", None))
    return resolve


def _load_articles(ctx: Context, folder: Path, organisations: dict[str, Organisation],
                   themes: dict[str, Theme], drafts: bool, issue: IssueHead
                   ) -> list[Article] | None:
    files = _article_files(ctx, folder)
    articles: list[tuple[tuple[int, str], Article]] = []
    slugs: dict[str, Path] = {}
    failed = False
    for position, path in enumerate(files, 1):
        article = _article(ctx, path, organisations, themes, position, issue)
        if article is None:
            failed = True
            continue
        if article.slug in slugs:
            ctx.report.error(path, 1, f"l’identifiant « {article.slug} » est déjà pris par "
                             f"{slugs[article.slug].name} : renommez l’un des deux fichiers")
            failed = True
            continue
        slugs[article.slug] = path
        if article.draft and not drafts:
            continue
        articles.append(((article.order, path.name), article))
    if failed:
        return None
    return [a for _, a in sorted(articles, key=lambda pair: pair[0])]


def _article(ctx: Context, path: Path, organisations: dict[str, Organisation],
             themes: dict[str, Theme], position: int, issue: IssueHead) -> Article | None:
    """_load_article, or the article the previous build made from the same file (by its
    content), position, registries, issue and image files, with the same diagnostics."""
    parsed = ctx.prepared.get(path)
    if ctx.reuse is None or parsed is None:
        return _load_article(ctx, path, organisations, themes, position, issue)
    key = (parsed.digest, position, ctx.registries, issue.fingerprint)
    entry = ctx.reuse.get(path)
    if entry is not None and entry[0] == key and parse.unchanged(entry[3]):
        ctx.report.items.extend(entry[2])
        return entry[1]
    before = len(ctx.report.items)
    article = _load_article(ctx, path, organisations, themes, position, issue)
    shown = (article.image, *article.images) if article is not None else ()
    ctx.reuse[path] = (key, article, ctx.report.items[before:],
                       parse.stats(i.source for i in shown if i))
    return article


def _load_article(ctx: Context, path: Path, organisations: dict[str, Organisation],
                  themes: dict[str, Theme], position: int, issue: IssueHead) -> Article | None:
    errors_before = len(ctx.report.errors)
    parsed = ctx.prepared.get(path)
    if parsed is None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            ctx.report.error(path, None, f"lecture impossible ({exc.strerror})")
            return None
        # Parsed here, its images are checked (and reported) as the Markdown is rendered.
        parsed = parse.parse_article(path, raw, lambda p, base, offset:
                                     _image_resolver(ctx, p, base, offset))
    else:
        for src, line in parsed.image_refs:
            _image_resolver(ctx, path, path.parent)(src, line)
    if parsed.error is not None:
        ctx.report.error(path, *parsed.error)
        return None
    doc = parsed.front
    assert doc is not None
    for key, line in parsed.duplicates:
        ctx.report.error(path, line, f"la clé « {shown(key)} » est écrite deux fois")
    if not isinstance(doc.data, dict):
        ctx.report.error(path, parsed.front_line,
                         "l’en-tête doit contenir des clés (title, organisation…)")
        return None
    data = doc.data
    _unknown_keys(ctx, path, doc, data, ARTICLE_KEYS)
    title = _typed(ctx, path, doc, "title", str, required=True)
    organisation = _organisation(ctx, path, doc, organisations)
    article_themes = _themes(ctx, path, doc, themes)
    location = _typed(ctx, path, doc, "location", str)
    summary = _typed(ctx, path, doc, "summary", str)
    order = _typed(ctx, path, doc, "order", int)
    draft = _typed(ctx, path, doc, "draft", bool) or False
    image = _image(ctx, path, doc, "image")
    typeset = dict(parsed.typeset)
    links = _links(ctx, path, doc, typeset)
    if parsed.empty or parsed.rendered is None:
        ctx.report.error(path, parsed.body_line - 1, "l’article est vide : écrivez son texte "
                         "sous la ligne « --- »")
        return None
    rendered = parsed.rendered
    if not summary:
        ctx.report.warning(path, doc.line(), "pas de résumé (summary) : il sert dans les listes, "
                           "les flux et l’e-mail ; le début du texte sera utilisé")
    if len(ctx.report.errors) > errors_before or title is None or organisation is None:
        return None
    left = _placeholders(ctx, path, doc, parsed.placeholders)
    body_images = tuple(_model_image(ctx, (path.parent / src).resolve(), "", None)
                        for src in rendered.images)
    return Article(
        slug=urls.article_slug(path.stem), title=_french(typeset, title), organisation=organisation,
        themes=article_themes, location=_french(typeset, location) if location else None,
        summary=_french(typeset, summary) if summary else None, image=image, links=links,
        order=order if order is not None else position, draft=draft, body_html=rendered.html,
        excerpt=rendered.text, words=rendered.words, source=path, issue=issue,
        images=body_images, placeholders=left)


def _organisation(ctx: Context, path: Path, doc: Yaml, organisations: dict[str, Organisation]
                  ) -> Organisation | None:
    value = _typed(ctx, path, doc, "organisation", str, required=True)
    if value is None:
        return None
    if value in organisations:
        return organisations[value]
    if "organisations.yaml" in ctx.unread:
        return None
    by_name = {o.name: o for o in organisations.values()}
    if value in by_name:
        return by_name[value]
    hint = suggestion(shown(value, 100), {slug: o.name for slug, o in organisations.items()})
    ctx.report.error(path, doc.line("organisation"),
                     f"organisation inconnue « {shown(value)} » (voir organisations.yaml).{hint}")
    return None


def _themes(ctx: Context, path: Path, doc: Yaml, themes: dict[str, Theme]) -> tuple[Theme, ...]:
    raw = doc.data.get("themes")
    if raw is None:
        return ()
    if isinstance(raw, str):
        # themes: environnement, vivre-ensemble: the list as written in a sentence
        raw = [part for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list):
        ctx.report.error(path, doc.line("themes"), "« themes » doit être une liste de thèmes")
        return ()
    # A theme is named by its identifier or by its label, as an organisation by its name.
    by_label = {_folded(t.label): t for t in themes.values()}
    found: list[Theme] = []
    for index, slug in enumerate(raw):
        theme = None
        if isinstance(slug, str):
            theme = themes.get(slug.strip()) or by_label.get(_folded(slug))
        if theme is not None:
            if theme not in found:
                found.append(theme)
            continue
        if "themes.yaml" in ctx.unread:
            continue
        if slug is None or isinstance(slug, (dict, list, bool)):
            what = "est vide" if slug is None else _not_kind(slug, list).replace("pas", "est", 1)
            ctx.report.error(path, doc.line("themes", index),
                             f"le thème n°\u00a0{index + 1} de « themes » {what} : écrivez un "
                             "mot de themes.yaml")
            continue
        hint = suggestion(shown(slug, 100), {s: t.label for s, t in themes.items()})
        ctx.report.error(path, doc.line("themes", index),
                         f"thème inconnu « {shown(slug)} » (voir themes.yaml).{hint}")
    return tuple(found)


def _folded(label: str) -> str:
    """A label as compared: typography, spaces and case aside."""
    return " ".join(french(label).replace("\u202f", " ").replace("\u00a0", " ").split()).casefold()


def _placeholders(ctx: Context, path: Path, doc: Yaml, body: tuple[tuple[int, str], ...]
                  ) -> tuple[Diagnostic, ...]:
    """Sample texts of `flash new` left in a file: a warning each, returned as the errors
    `flash send` reports (Issue.placeholders_left)."""
    from flash.scaffold import PLACEHOLDERS

    found = [(doc.line(*where), sample) for where, text in _texts(doc.data)
             for sample in PLACEHOLDERS if sample in text]
    left = []
    for line, sample in [*found, *body]:
        message = (f"texte d’exemple laissé par « flash new » : « {sample} » ; remplacez-le "
                   "(« flash send » n’enverra pas le numéro tant qu’il reste)")
        ctx.report.warning(path, line, message)
        left.append(Diagnostic(ctx.report.display(path), line, "erreur", message))
    return tuple(left)


def _texts(data: Any, where: tuple[str | int, ...] = ()
           ) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """(path, text) of every text in a YAML document (the loader bounds its depth)."""
    if isinstance(data, str):
        yield where, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _texts(value, (*where, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _texts(value, (*where, index))


def _french(typeset: dict[str, str], text: str) -> str:
    """French typography of a front matter text: done ahead with the parsing (flash.parse)."""
    done = typeset.get(text)
    return done if done is not None else french(text)


def _links(ctx: Context, path: Path, doc: Yaml, typeset: dict[str, str]) -> tuple[Link, ...]:
    raw = doc.data.get("links")
    if raw is None:
        return ()
    if isinstance(raw, dict) and any(str(key).startswith("-") for key in raw):
        glued = next(str(key) for key in raw if str(key).startswith("-"))
        ctx.report.error(path, doc.line("links", glued),
                         f"il manque une espace après le tiret : écrivez « - {shown(glued[1:])}: » "
                         "(un tiret, une espace, puis la clé)")
        return ()
    if not isinstance(raw, list):
        ctx.report.error(path, doc.line("links"),
                         "« links » doit être une liste de liens (label et url)")
        return ()
    links: list[Link] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            ctx.report.error(path, doc.line("links", index),
                             "chaque lien doit avoir « label » et « url »")
            continue
        label = _typed(ctx, path, doc, "label", str, required=True, where=("links", index))
        url = _typed(ctx, path, doc, "url", str, required=True, where=("links", index))
        if url and not LINK_URL.match(url):
            ctx.report.error(path, doc.line("links", index, "url"),
                             f"adresse « {shown(url)} » invalide : elle doit commencer par https://")
            continue
        if label and url:
            links.append(Link(_french(typeset, label), url))
    return tuple(links)
