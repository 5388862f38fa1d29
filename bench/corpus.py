"""Seeded generator of multi-issue archives in Flash's content format, for tests and benchmarks.

    python bench/corpus.py OUT --issues 200 --articles 6 [--seed 1] [--images]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
from dataclasses import dataclass
from pathlib import Path

ORGANISATIONS = {
    "alfi": ("ALFI", "#c8102e"),
    "mesolia": ("Mésolia", "#00a19a"),
    "norevie": ("Norevie", "#1d4f91"),
    "aiguillon-construction": ("Aiguillon construction", "#e4003a"),
    "france-loire": ("France Loire", "#f39200"),
    "antin-residences": ("Antin Résidences", "#5b2c83"),
    "sfhe": ("SFHE", "#009fe3"),
    "le-foyer-stephanais": ("Le Foyer Stéphanais", "#6a9a1f"),
}
THEMES = {
    "insertion-emploi": "Insertion et emploi",
    "accompagnement-social": "Accompagnement social",
    "enfance-jeunesse": "Enfance et jeunesse",
    "culture": "Culture et lecture",
    "alimentation-sante": "Alimentation et santé",
    "habitat-participatif": "Habitat participatif",
    "vivre-ensemble": "Vivre-ensemble",
    "environnement": "Environnement",
}
PLACES = ["Auby (59)", "Nantes (44)", "Bourges (18)", "Bordeaux (33)",
          "Saint-Étienne-du-Rouvray (76)", "Orléans (45)", "Nîmes (30)", "Paris (75)",
          "Évry (91)", "Cergy (95)", "Lille (59)"]
WORDS = ("habitants locataires résidence quartier association atelier projet partenaires jardin "
         "partagé insertion emploi jeunes familles accompagnement logement solidarité bénévoles "
         "animation rencontre lecture enfants cuisine recettes chantier rénovation énergie "
         "économies collecte livres médiathèque parcours formation santé prévention convivialité "
         "gardiens équipe bailleur commune métropole écoles sport culture musique fresque "
         "balcons potager compost vélo mobilité seniors lien social voisinage fête").split()
TITLES = ["Un atelier {} pour les {}", "{} : les {} se mobilisent", "Le {} au cœur des {}",
          "Nouvelle étape pour le {} des {}", "Quand le {} rassemble les {}"]


@dataclass(frozen=True)
class Generated:
    root: Path
    issues: int
    articles: int


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", " !", " ?"])


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _body(rng: random.Random, target_words: int) -> str:
    parts: list[str] = []
    words = 0
    while words < target_words:
        kind = rng.random()
        if kind < 0.12:
            parts.append(f"## {_sentence(rng)[:-1].rstrip(' !?')}")
        elif kind < 0.22:
            parts.append("\n".join(
                f"- {rng.randint(2, 900)} {rng.choice(WORDS)} {rng.choice(WORDS)}"
                for _ in range(rng.randint(3, 5))))
        elif kind < 0.28:
            parts.append(f"> \"{_sentence(rng)}\"")
        else:
            text = _paragraph(rng, rng.randint(3, 6))
            if rng.random() < 0.3:
                text += f" Voir [le site du projet](https://www.example.org/{rng.choice(WORDS)})."
            parts.append(text)
        words += len(parts[-1].split())
    return "\n\n".join(parts) + "\n"


def _image(rng: random.Random) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1200, 800), tuple(rng.randint(60, 220) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randint(0, 1000), rng.randint(0, 600)
        draw.ellipse((x, y, x + 200, y + 200), fill=tuple(rng.randint(0, 255) for _ in range(3)))
    data = io.BytesIO()
    image.save(data, "JPEG", quality=80)
    return data.getvalue()


def write_tree(root: Path, files: dict[str, str | bytes], keep: tuple[str, ...] = ()) -> None:
    """Makes `root` hold exactly `files` (relative path -> content), leaving alone the top-level
    entries named in `keep`: files whose content is already right are not written again, and
    nothing is deleted when the same corpus is generated again.

    Why not delete and rewrite: on ext4 without a journal (as on the benchmark machine), creating
    a file searches past every inode deleted in the last minutes; deleting thousands of files
    just before a timed build would slow that build's own file creation, by chance."""
    wanted = {root / name: content for name, content in files.items()}
    for path, content in wanted.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        try:
            if path.read_bytes() == data:
                continue
        except OSError:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for entry in root.iterdir():
        if entry.name in keep:
            continue
        if entry.is_file():
            if entry not in wanted:
                entry.unlink()
            continue
        for folder, folders, names in os.walk(entry, topdown=False):
            for name in names:
                if Path(folder, name) not in wanted:
                    Path(folder, name).unlink()
            for name in folders:
                with contextlib.suppress(OSError):  # not empty: it holds wanted files
                    Path(folder, name).rmdir()
        with contextlib.suppress(OSError):
            entry.rmdir()


def generate(root: Path, issues: int = 20, articles: int = 6, *, seed: int = 1,
             images: bool = False, min_words: int = 300, max_words: int = 900) -> Generated:
    """Writes `issues` × `articles` articles under `root` (replacing what it held)."""
    rng = random.Random(seed)
    files: dict[str, str | bytes] = {}
    files["organisations.yaml"] = "".join(
        f'{slug}:\n  name: "{name}"\n  colour: "{colour}"\n  url: "https://www.{slug}.fr"\n'
        for slug, (name, colour) in ORGANISATIONS.items())
    files["themes.yaml"] = "".join(
        f'{slug}:\n  label: "{label}"\n  description: "Initiatives : {label.lower()}."\n'
        for slug, label in THEMES.items())
    total = 0
    first = 1
    for index in range(issues):
        number = first + index
        year, month = 2009 + index // 12, index % 12 + 1
        folder = f"{year}-{month:02d}-n{number}"
        files[f"{folder}/issue.yaml"] = (
            f'number: {number}\ndate: "{year}-{month:02d}"\n'
            f'intro: "{_sentence(rng)}"\npreheader: "{_sentence(rng)[:90]}"\n')
        for position in range(1, articles + 1):
            org = rng.choice(list(ORGANISATIONS))
            themes = rng.sample(list(THEMES), rng.randint(1, 3))
            title = rng.choice(TITLES).format(rng.choice(WORDS), rng.choice(WORDS)).capitalize()
            lines = [
                "---",
                f'title: "{title} ({number}-{position})"',
                f"organisation: {org}",
                f"themes: [{', '.join(themes)}]",
                f'location: "{rng.choice(PLACES)}"',
                f'summary: "{_sentence(rng)}"',
            ]
            if images and position % 2 == 1:
                files[f"{folder}/images/photo-{position}.jpg"] = _image(rng)
                lines += ["image:", f"  src: images/photo-{position}.jpg",
                          '  alt: "Des habitants réunis lors de l’initiative"',
                          '  credit: "Photo : Flash"']
            if rng.random() < 0.4:
                lines += ["links:", '  - label: "En savoir plus"',
                          f'    url: "https://www.{org}.fr/actualites/{number}-{position}"']
            lines.append("---")
            body = _body(rng, rng.randint(min_words, max_words))
            slug = f"article-{number}-{position}"
            files[f"{folder}/{position:02d}-{slug}.md"] = "\n".join(lines) + "\n\n" + body
            total += 1
    root.mkdir(parents=True, exist_ok=True)
    write_tree(root, files)
    return Generated(root, issues, total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--articles", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--images", action="store_true")
    args = parser.parse_args()
    made = generate(args.out, args.issues, args.articles, seed=args.seed, images=args.images)
    print(f"{made.issues} numéros, {made.articles} articles dans {made.root}")


if __name__ == "__main__":
    main()
