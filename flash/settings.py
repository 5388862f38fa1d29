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
class BounceSettings:
    """The bounce mailbox `flash subscribers bounces imap` reads."""
    host: str = ""
    port: int = 993  # IMAP over TLS
    user: str = ""
    password_env: str = "FLASH_BOUNCES_PASSWORD"
    folder: str = "INBOX"


CONSENT_TEXT = ("J’accepte de recevoir le Flash initiatives locales par e-mail, une fois par "
                "mois. Je peux me désabonner à tout moment par le lien de chaque message.")


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
    # Subscribers service (flash subscribers serve): where the site's forms post and the
    # e-mails' unsubscribe links point; none until set. The database URL may also come from
    # the environment variable FLASH_SUBSCRIBERS_DATABASE (which wins: it may hold a password).
    subscribers_url: str = ""
    subscribers_database: str = "sqlite:///abonnes.sqlite"
    consent_text: str = CONSENT_TEXT
    confirmation_hours: int = 48  # how long a confirmation link works
    signups_per_client: int = 10  # sign-ups from one client per 10 minutes
    signups_per_address: int = 3  # confirmation messages to one address per hour
    bounces: BounceSettings = field(default_factory=BounceSettings)
    # The online editor (Decap CMS at /admin/ of the built site): the Git repository it
    # commits to, through pull requests (editorial workflow); no /admin/ until it is set.
    editor_repo: str = ""  # "owner/name"
    editor_branch: str = "main"
    editor_backend: str = "github"  # or "gitlab", "gitea"
    editor_auth_url: str = ""  # the OAuth provider; empty: Netlify's (api.netlify.com)
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
        label = "clés inconnues" if len(unknown) > 1 else "clé inconnue"
        raise SettingsError(f"{where} : {label} : {', '.join(unknown)}")
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
    bounces = BounceSettings()
    if "bounces" in section:
        bounces = _build(BounceSettings, section.pop("bounces"), f"{path} [tool.flash.bounces]")
    section.pop("root", None)
    settings = _build(Settings, section, f"{path} [tool.flash]")
    return replace(settings, smtp=smtp, bounces=bounces, root=path.parent)
