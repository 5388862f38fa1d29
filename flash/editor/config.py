"""Decap CMS's configuration, generated from the content model: the issues, one collection of
articles per issue, fields with `flash check`'s rules and the writing guide's French labels,
organisations and themes as selects. Never kept by hand: it follows the content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from flash.model import Corpus, Issue
from flash.settings import Settings
from flash.templates import month

MONTH_PATTERN = [r"^\d{4}-\d{2}$", "l’année et le mois, par exemple 2021-04"]
LINK_PATTERN = [r"^(https?://\S+|mailto:\S+@\S+)$",
                "une adresse qui commence par https:// (ou mailto: pour un e-mail)"]


def _image(label: str, hint: str) -> dict[str, Any]:
    return {"label": label, "name": "image" if label == "Image" else "cover",
            "widget": "object", "required": False, "collapsed": False, "hint": hint,
            "fields": [
                # Not "required" for Decap, which would then demand an image where none is
                # wanted: Flash's check before the save refuses an image without alt.
                {"label": "Fichier", "name": "src", "widget": "image", "required": False,
                 "hint": "JPEG, PNG, WebP ou GIF, dans la meilleure définition : Flash "
                         "retire les métadonnées (GPS, appareil) et fait les tailles."},
                {"label": "Texte alternatif (alt)", "name": "alt", "widget": "string",
                 "required": False,
                 "hint": "Obligatoire : décrivez l’image pour les lecteurs qui ne la voient "
                         "pas (« Des locataires plantent des tomates dans un bac »)."},
                {"label": "Crédit", "name": "credit", "widget": "string", "required": False,
                 "hint": "Par exemple « Photo : Mésolia »."}]}


def issue_fields() -> list[dict[str, Any]]:
    return [
        {"label": "Numéro", "name": "number", "widget": "number", "value_type": "int",
         "min": 1, "hint": "Obligatoire : le numéro, un nombre entier (196)."},
        {"label": "Mois", "name": "date", "widget": "string", "pattern": MONTH_PATTERN,
         "hint": "Obligatoire : l’année et le mois du numéro, par exemple 2021-04."},
        {"label": "Titre", "name": "title", "widget": "string",
         "default": "Flash initiatives locales"},
        {"label": "Présentation", "name": "intro", "widget": "markdown", "required": False,
         "buttons": ["bold", "italic", "link"], "editor_components": [],
         "hint": "Quelques phrases de présentation du numéro."},
        {"label": "Texte d’aperçu", "name": "preheader", "widget": "string", "required": False,
         "hint": "Affiché à côté de l’objet dans les messageries."},
        _image("Couverture", "L’illustration de couverture (facultative)."),
    ]


def article_fields(corpus: Corpus) -> list[dict[str, Any]]:
    organisations = [{"label": o.name, "value": o.slug} for o in corpus.organisations]
    themes = [{"label": t.label, "value": t.slug} for t in corpus.themes]
    return [
        {"label": "Titre", "name": "title", "widget": "string",
         "hint": "Obligatoire : le titre de l’article."},
        {"label": "Organisation", "name": "organisation", "widget": "select",
         "options": organisations, "hint": "Obligatoire : l’organisation qui porte "
                                           "l’initiative (voir organisations.yaml)."},
        {"label": "Thèmes", "name": "themes", "widget": "select", "multiple": True,
         "required": False, "options": themes, "hint": "Un ou plusieurs thèmes."},
        {"label": "Lieu", "name": "location", "widget": "string", "required": False,
         "hint": "Par exemple « Auby (59) »."},
        {"label": "Résumé", "name": "summary", "widget": "text", "required": False,
         "hint": "Conseillé : une ou deux phrases, utilisées dans les listes, les flux et "
                 "l’e-mail."},
        _image("Image", "La photo ou l’illustration de l’article (facultative)."),
        {"label": "Liens", "label_singular": "lien", "name": "links", "widget": "list",
         "required": False,
         "summary": "{{fields.label}}", "hint": "Pour en savoir plus : le site d’un "
                                                 "partenaire, une vidéo YouTube…",
         "fields": [{"label": "Texte du lien", "name": "label", "widget": "string"},
                    {"label": "Adresse", "name": "url", "widget": "string",
                     "pattern": LINK_PATTERN}]},
        {"label": "Ordre dans le numéro", "name": "order", "widget": "number",
         "value_type": "int", "required": False,
         "hint": "Un nombre pour forcer la place de l’article (sinon l’ordre des noms de "
                 "fichiers)."},
        {"label": "Brouillon", "name": "draft", "widget": "boolean", "required": False,
         "default": False, "hint": "Un brouillon n’est pas publié (il reste visible dans "
                                   "l’aperçu)."},
        {"label": "Texte", "name": "body", "widget": "markdown",
         "hint": "Une ligne vide entre deux paragraphes. L’adresse d’une vidéo YouTube seule "
                 "sur sa ligne devient une carte vidéo."},
    ]


def _relative(folder: Path, root: Path) -> str:
    return folder.resolve().relative_to(root.resolve()).as_posix()


def articles_collection(issue: Issue, corpus: Corpus, root: Path) -> dict[str, Any]:
    return {
        "name": f"articles-{issue.number}",
        "label": f"Articles du N°{issue.number} ({month(issue.date)})",
        "label_singular": f"article du N°{issue.number}",
        "folder": _relative(issue.folder, root), "extension": "md", "format": "frontmatter",
        "create": True, "slug": "{{slug}}", "media_folder": "images",
        "public_folder": "images", "summary": "{{title}}",
        "sortable_fields": ["order", "title"], "fields": article_fields(corpus),
        # « Voir l’aperçu » of a pull request opens its issue page on the deploy preview: an
        # article's address drops the « 01- » of its file name, which Decap cannot do.
        "preview_path": f"numeros/{issue.number}/",
    }


def decap_config(corpus: Corpus, settings: Settings, source: Path, *,
                 local_url: str | None = None) -> dict[str, Any]:
    """The whole configuration. `local_url`: the local backend `flash serve` answers on;
    else the Git host of `[tool.flash] editor_repo`, with the editorial workflow."""
    root = settings.root
    config: dict[str, Any] = {
        "locale": "fr",
        "site_url": settings.site_url,
        "display_url": settings.site_url,
        "media_folder": f"{_relative(source, root)}/images",
        # File names as Flash makes them: no accents, no capitals (un-jardin-partage.md).
        "slug": {"encoding": "ascii", "clean_accents": True, "sanitize_replacement": "-"},
        "collections": [{
            "name": "numeros", "label": "Numéros", "label_singular": "numéro",
            "folder": _relative(source, root), "extension": "yaml", "format": "yaml",
            # `path` only filters the listing to the issue.yaml files (Git backends turn it
            # into a pattern); the meta path field names the new issue's folder.
            "create": True, "path": "{{slug}}/issue",
            "nested": {"depth": 2, "summary": "{{title}} N°{{number}}"},
            "meta": {"path": {"label": "Dossier du numéro", "widget": "string",
                              "index_file": "issue"}},
            "media_folder": "images", "public_folder": "images",
            "summary": "N°{{number}} — {{date}}", "preview_path": "numeros/{{number}}/",
            "fields": issue_fields()},
            *(articles_collection(issue, corpus, root) for issue in corpus.issues)],
    }
    if local_url is not None:
        config["backend"] = {"name": "proxy", "proxy_url": local_url}
        config["local_backend"] = {"url": local_url}
    else:
        config["backend"] = {"name": settings.editor_backend, "repo": settings.editor_repo,
                             "branch": settings.editor_branch}
        if settings.editor_auth_url:
            config["backend"]["base_url"] = settings.editor_auth_url
        config["publish_mode"] = "editorial_workflow"
    return config


def config_yaml(config: dict[str, Any]) -> str:
    return ("# Generated by Flash from the content model (flash/editor/config.py): do not "
            "edit.\n" + yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=100))
