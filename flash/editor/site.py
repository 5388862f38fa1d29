"""The editor's files, as `flash serve` answers them and the build writes them under
/admin/: Decap's page, its generated configuration, Flash's preview script and the vendored
Decap CMS."""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path

from flash.editor.config import config_yaml, decap_config
from flash.model import Corpus
from flash.settings import Settings

STATIC = Path(__file__).parent / "static"
FOLDER = "admin"


def page(corpus: Corpus, stylesheet: str) -> str:
    collections = " ".join(f"articles-{issue.number}" for issue in corpus.issues)
    labels = json.dumps({"organisations": {o.slug: o.name for o in corpus.organisations},
                         "themes": {t.slug: t.label for t in corpus.themes}},
                        ensure_ascii=False)
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="flash-stylesheet" content="{html.escape(stylesheet)}">
<meta name="flash-collections" content="{html.escape(collections)}">
<meta name="flash-labels" content="{html.escape(labels)}">
<title>Éditeur — Flash initiatives locales</title>
<link href="config.yml" type="text/yaml" rel="cms-config-url">
</head>
<body>
<script src="decap-cms.js"></script>
<script src="preview.js"></script>
</body>
</html>
"""


@cache
def vendored() -> dict[str, bytes]:
    """Decap's files and preview.js, read once."""
    return {path.name: path.read_bytes() for path in sorted(STATIC.iterdir())
            if path.is_file() and path.name != "VERSION"}


def files(corpus: Corpus, settings: Settings, source: Path, stylesheet: str,
          local_url: str | None = None) -> dict[str, bytes]:
    """Name under /admin/ -> content."""
    config = decap_config(corpus, settings, source, local_url=local_url)
    return {"index.html": page(corpus, stylesheet).encode(),
            "config.yml": config_yaml(config).encode(), **vendored()}
