"""click parameter types over the project's value parsers (rollcall.settings' ValueTypes, over
rollcall.durations and rollcall.inputs), so every flag parses a kind of value one way and click's
error names the flag: `Invalid value for '-t' / '--timeout': ...`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .. import inputs, settings


class Parsed(click.ParamType):
    """A click type for a ValueType (or any parser raising ValueError with a sentence)."""

    def __init__(self, parse: Callable[[Any], Any], name: str = "value") -> None:
        self._parse = parse
        self.name = name

    @classmethod
    def of(cls, value_type: settings.ValueType) -> Parsed:
        return cls(value_type.parse, value_type.name)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self._parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def Count(minimum: int = 1, maximum: int = inputs.MAX_COUNT) -> Parsed:  # noqa: N802 - reads as a type
    """A whole number in minimum..maximum."""
    return Parsed.of(settings.count(minimum, maximum))


def Number(*, minimum: float | None = None, maximum: float | None = None) -> Parsed:  # noqa: N802
    """A finite number, optionally bounded."""
    return Parsed(lambda v: inputs.parse_number(v, minimum=minimum, maximum=maximum), "number")


DURATION = Parsed.of(settings.DURATION)
DURATION_OR_ZERO = Parsed.of(settings.DURATION_OR_ZERO)
TEXT = Parsed.of(settings.TEXT)  # text that must be real Unicode (argv bytes that are not UTF-8 are refused)
