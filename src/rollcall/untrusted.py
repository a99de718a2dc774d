"""Plain copies of values from objects we do not trust, taken without running any of their code.

Provider code hands us exceptions, chunks and classes that may override `__str__`, `__len__`,
`__class__` or their metaclass's `__name__` to raise, stall or lie. These readers go through the
built-in types' own slots (`str.__str__`, `int.__index__`, `type.__dict__["__name__"]`), which
subclasses cannot override, and `issubclass(type(x), ...)`, which never asks the object itself
(`isinstance` would read a `__class__` property). Everything they return is an exact str or int.
"""

from __future__ import annotations

from typing import Any

_type_name = type.__dict__["__name__"].__get__
_type_mro = type.__dict__["__mro__"].__get__


def text(value: Any) -> str | None:
    """`value` as an exact str when it is a str (or a subclass of str), else None."""
    if type(value) is str:
        return value
    if issubclass(type(value), str):
        return str.__str__(value)  # the base slot copies the characters; an override never runs
    return None


def integer(value: Any) -> int | None:
    """`value` as an exact int when it is an int (not a bool), else None."""
    kind = type(value)
    if kind is int:
        return value
    if issubclass(kind, int) and not issubclass(kind, bool):
        return int.__index__(value)
    return None


def type_name(cls: type) -> str:
    """A class's name as the interpreter stores it (a metaclass cannot intercept the lookup)."""
    try:
        return text(_type_name(cls, type)) or "?"
    except Exception:  # noqa: BLE001 - not a class at all
        return "?"


def mro_names(cls: type) -> list[str]:
    """The names of `cls` and its bases, most derived first, read like type_name()."""
    try:
        return [type_name(base) for base in _type_mro(cls, type) if issubclass(type(base), type)]
    except Exception:  # noqa: BLE001 - not a class at all
        return []
