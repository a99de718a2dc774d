"""Commands registered on the rollcall CLI from this module (see COMMANDS)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
