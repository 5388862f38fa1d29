"""The ASGI application uvicorn imports (`flash.subscribers.app:app`): the service built from
the project's settings, the environment's secret and the database."""

from __future__ import annotations

import os
from pathlib import Path

from flash.mail.unsubscribe import secret
from flash.settings import load_settings
from flash.subscribers.commands import database_of
from flash.subscribers.service import Service, make_app
from flash.subscribers.store import Store

_root = os.environ.get("FLASH_SUBSCRIBERS_PROJECT")
_settings = load_settings(Path(_root) / "issues" if _root else None)
app = make_app(Service(_settings, Store(database_of(_settings)), secret(_settings)))
