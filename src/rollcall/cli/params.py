"""click parameter types over rollcall.durations and rollcall.inputs, so every flag parses a kind
of value one way and click's error names the flag: `Invalid value for '-t' / '--timeout': ...`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .. import durations, inputs


class _Parsed(click.ParamType):
    def __init__(self, parse: Callable[[Any], Any]) -> None:
        self._parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self._parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Duration(_Parsed):
    """Seconds: `30`, `1.5`, `30s`, `5m`, `1h`, `7d`, `500ms`; finite, above 0 (or 0 too with allow_zero)."""

    name = "duration"

    def __init__(self, *, allow_zero: bool = False) -> None:
        super().__init__(lambda v: durations.parse_duration(v, None, allow_zero=allow_zero))


class Count(_Parsed):
    """A whole number in minimum..maximum."""

    name = "integer"

    def __init__(self, minimum: int = 1, maximum: int = inputs.MAX_COUNT) -> None:
        super().__init__(lambda v: inputs.parse_count(v, minimum=minimum, maximum=maximum))


class Number(_Parsed):
    """A finite number, optionally bounded."""

    name = "number"

    def __init__(self, *, minimum: float | None = None, maximum: float | None = None) -> None:
        super().__init__(lambda v: inputs.parse_number(v, minimum=minimum, maximum=maximum))


DURATION = Duration()
DURATION_OR_ZERO = Duration(allow_zero=True)


class Text(click.ParamType):
    """Text from the command line that must be real Unicode: bytes that are not UTF-8 arrive as
    lone surrogates, which no request body, header or database can carry."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not inputs.is_unicode(value):
            self.fail("is not valid UTF-8 text (check the encoding of the terminal or script)", param, ctx)
        return value


TEXT = Text()
