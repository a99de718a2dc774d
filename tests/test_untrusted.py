"""rollcall.untrusted: plain copies of provider values, taken without running the provider's code."""

from __future__ import annotations

import pytest

from rollcall import untrusted


class EvilStr(str):
    def __str__(self):
        raise AssertionError("__str__ ran")

    def __len__(self):
        raise AssertionError("__len__ ran")


class EvilInt(int):
    def __index__(self):
        raise AssertionError("__index__ ran")

    def __int__(self):
        raise AssertionError("__int__ ran")


class EvilClass:
    @property
    def __class__(self):
        raise AssertionError("__class__ ran")


class LyingMeta(type):
    @property
    def __name__(cls):
        raise AssertionError("metaclass __name__ ran")

    @property
    def __mro__(cls):
        raise AssertionError("metaclass __mro__ ran")


class Lying(ValueError, metaclass=LyingMeta):
    pass


def test_text_copies_str_subclasses_without_their_methods():
    copy = untrusted.text(EvilStr("hello"))
    assert type(copy) is str and copy == "hello" and len(copy) == 5
    assert untrusted.text("plain") == "plain"


@pytest.mark.parametrize("make", [lambda: None, lambda: 3, lambda: b"bytes", EvilClass, lambda: ["a"]],
                         ids=["none", "int", "bytes", "evil-class", "list"])
def test_text_of_anything_else_is_none(make):
    assert untrusted.text(make()) is None


def test_integer_copies_int_subclasses_and_refuses_bools():
    copy = untrusted.integer(EvilInt(7))
    assert type(copy) is int and copy == 7
    assert untrusted.integer(True) is None and untrusted.integer(3.0) is None
    assert untrusted.integer(EvilClass()) is None


def test_class_names_bypass_the_metaclass():
    assert untrusted.type_name(Lying) == "Lying"
    assert untrusted.mro_names(Lying) == ["Lying", "ValueError", "Exception", "BaseException", "object"]
    assert untrusted.type_name(3) == "?" and untrusted.mro_names(3) == []  # type: ignore[arg-type]
