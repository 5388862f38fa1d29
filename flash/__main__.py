"""`python -m flash`: the `flash` command."""

from flash.cli import run

run()
