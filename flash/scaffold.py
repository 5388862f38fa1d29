"""`flash new`: skeletons the communications team fills in."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from flash.diagnostics import suggestion
from flash.sources import SourceError, parse_yaml, read_text

# The skeletons' sample texts: left in a published issue, they are a warning of `flash check`
# and `flash build`, and an error of `flash send` (validate.py looks for them).
ARTICLE_TEXT = "Écrivez ici le texte de l’article, en Markdown."
ISSUE_INTRO = "Retrouvez dans ce numéro les initiatives locales, sociales et innovantes…"
PHOTO_ALT = "Ce que montre la photo"
COVER_ALT = "Ce que montre l’image"
CREDIT = "Photo : …"
LINK_URL = "https://…"
PLACEHOLDERS = (ARTICLE_TEXT, ISSUE_INTRO, PHOTO_ALT, COVER_ALT, CREDIT, LINK_URL)


class ScaffoldError(Exception):
    pass


def _issue_numbers(source: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for marker in source.rglob("issue.yaml"):
        try:
            data = parse_yaml(read_text(marker))[0].data
        except (SourceError, OSError):
            continue
        number = data.get("number") if isinstance(data, dict) else None
        if isinstance(number, str) and number.strip().isdigit() and len(number.strip()) < 10:
            number = int(number)  # number: "196" is accepted (see validate._typed)
        if isinstance(number, int) and not isinstance(number, bool):
            found[number] = marker.parent
    return found


def new_issue(source: Path, number: int, month: str | None = None) -> Path:
    month = month or dt.date.today().strftime("%Y-%m")
    match = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ScaffoldError(f"date « {month} » invalide : écrivez l’année et le mois, "
                            "par exemple 2021-03")
    existing = _issue_numbers(source)
    if number in existing:
        raise ScaffoldError(f"le numéro {number} existe déjà : {existing[number]}")
    folder = source / f"{month}-n{number}"
    if folder.exists():
        raise ScaffoldError(f"le dossier {folder} existe déjà")
    (folder / "images").mkdir(parents=True)
    (folder / "issue.yaml").write_text(
        f"# Numéro {number} du Flash. Vérifiez avec : flash check\n"
        f"number: {number}\n"
        f'date: "{month}"\n'
        'title: "Flash initiatives locales"\n'
        "# Quelques phrases d’introduction (Markdown accepté) :\n"
        "intro: |\n"
        f"  {ISSUE_INTRO}\n"
        "# Texte d’aperçu affiché par les messageries à côté de l’objet (facultatif) :\n"
        'preheader: ""\n'
        "# Image de couverture (facultative) : décommentez et complétez.\n"
        "# cover:\n"
        "#   src: images/couverture.jpg\n"
        f'#   alt: "{COVER_ALT}"\n'
        f'#   credit: "{CREDIT}"\n',
        encoding="utf-8",
    )
    return folder


def _organisations(source: Path) -> dict[str, str]:
    path = source / "organisations.yaml"
    try:
        data = parse_yaml(read_text(path))[0].data or {}
    except (OSError, SourceError) as exc:
        raise ScaffoldError(f"{path} illisible : lancez « flash check »") from exc
    if not isinstance(data, dict):
        raise ScaffoldError(f"{path} illisible : lancez « flash check »")
    return {slug: str(v.get("name") or slug) for slug, v in data.items() if isinstance(v, dict)}


def new_article(source: Path, issue: int, organisation: str, title: str) -> Path:
    from slugify import slugify  # validate.py imports this module for PLACEHOLDERS

    issues = _issue_numbers(source)
    if issue not in issues:
        known = ", ".join(str(n) for n in sorted(issues)) or "aucun"
        raise ScaffoldError(f"numéro {issue} introuvable (numéros existants : {known}) ; "
                            f"créez-le avec « flash new issue {issue} »")
    organisations = _organisations(source)
    if organisation not in organisations:
        by_name = {name: slug for slug, name in organisations.items()}
        if organisation not in by_name:
            raise ScaffoldError(f"organisation inconnue « {organisation} »."
                                f"{suggestion(organisation, organisations)}")
        organisation = by_name[organisation]
    folder = issues[issue]
    numbers = [int(m.group(1)) for p in folder.glob("*.md")
               if (m := re.match(r"(\d+)-", p.name))]
    position = max(numbers, default=0) + 1
    slug = slugify(title, max_length=60, word_boundary=True) or "article"
    path = folder / f"{position:02d}-{slug}.md"
    if path.exists():
        raise ScaffoldError(f"le fichier {path} existe déjà")
    quoted = title.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(
        "---\n"
        f'title: "{quoted}"\n'
        f"organisation: {organisation}\n"
        "themes: []            # identifiants de themes.yaml, ex. [insertion-emploi]\n"
        'location: ""          # ex. "Auby (59)"\n'
        'summary: ""           # une ou deux phrases pour les listes et l’e-mail\n'
        "# image:\n"
        "#   src: images/photo.jpg\n"
        f'#   alt: "{PHOTO_ALT}"\n'
        f'#   credit: "{CREDIT}"\n'
        "# links:\n"
        '#   - label: "En savoir plus"\n'
        f'#     url: "{LINK_URL}"\n'
        "---\n\n"
        f"{ARTICLE_TEXT}\n",
        encoding="utf-8",
    )
    return path
