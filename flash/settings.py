"""Site settings: `[tool.flash]` of pyproject.toml, read once into a frozen object."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""  # the relay: none until [tool.flash.smtp] host is set
    port: int = 587
    security: str = "starttls"  # "starttls", "ssl" or "none"
    user: str | None = None
    password_env: str = "FLASH_SMTP_PASSWORD"
    rate: float = 10.0  # messages per second
    timeout: float = 30.0
    # Temporary failures (4xx, lost connection): tries per recipient, and the first pause,
    # doubled after each failure up to max_retry_delay.
    max_attempts: int = 5
    retry_delay: float = 2.0
    max_retry_delay: float = 120.0
    per_connection: int = 100  # messages before reconnecting: relays cap long sessions


@dataclass(frozen=True)
class Settings:
    title: str = "Flash initiatives locales"
    description: str = "Les initiatives locales, sociales et innovantes."
    base_url: str = "http://localhost:8000"
    publisher: str = "ALFI et Groupe Arcade-VYV"
    language: str = "fr"
    source: str = "issues"
    output: str = "_site"
    per_page: int = 20
    print: bool = True  # the printable edition and poster of each issue (PDF)
    # Email
    email_from: str = "Flash initiatives locales <flash@example.org>"
    reply_to: str | None = None
    subject: str = "{title} N°{number} – {month}"
    email_content: str = "auto"  # "auto", "full" or "summary"
    unsubscribe_url: str = "{base_url}/desabonnement/?email={email}&token={token}"
    unsubscribe_mailto: str | None = None
    unsubscribe_secret_env: str = "FLASH_UNSUBSCRIBE_SECRET"
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    # Where the settings came from: relative paths above are resolved against it.
    root: Path = field(default_factory=Path.cwd)

    @property
    def site_url(self) -> str:
        return self.base_url.rstrip("/")

    def absolute(self, url: str) -> str:
        if url.startswith(("http://", "https://", "mailto:")):
            return url
        return self.site_url + "/" + url.lstrip("/")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


class SettingsError(Exception):
    pass


def find_pyproject(source: Path | None) -> Path | None:
    """The pyproject.toml beside the content folder, else the one in the working directory."""
    candidates = []
    if source is not None:
        candidates.append(source.resolve().parent / "pyproject.toml")
    candidates.append(Path.cwd() / "pyproject.toml")
    return next((c for c in candidates if c.is_file()), None)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SettingsError(f"{where} : clé(s) inconnue(s) : {', '.join(unknown)}")
    return cls(**data)


def load_settings(source: Path | None = None) -> Settings:
    path = find_pyproject(source)
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path} : fichier TOML illisible ({exc})") from exc
    section = dict(data.get("tool", {}).get("flash", {}))
    smtp = SmtpSettings()
    if "smtp" in section:
        smtp = _build(SmtpSettings, section.pop("smtp"), f"{path} [tool.flash.smtp]")
    section.pop("root", None)
    settings = _build(Settings, section, f"{path} [tool.flash]")
    return replace(settings, smtp=smtp, root=path.parent)
