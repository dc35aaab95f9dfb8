"""Text the workbench can keep: valid Unicode, that is, text that UTF-8 can encode.

A Python ``str`` may hold a lone surrogate (U+D800 to U+DFFF): half of a UTF-16 pair, not a
character. Python makes one from each byte that is not UTF-8 in a command-line argument or
a file name (the byte 0xff arrives as ``\\udcff``), and JSON's ``"\\ud800"`` escape reads as
one. DuckDB, Arrow, Parquet and a UTF-8 file can hold none of them, so every text a user
gives that is kept or scored (names, keys, param and tag values, messages and notes,
filters, column names and cells, file names, scoring rows) goes through
:func:`check_storable`: one check, one message naming the field, the character as its
escape and its position, and what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workbench.store.errors import InvalidInput

DECODE_FIRST = (
    "Usually the text was read with the wrong encoding: decode the bytes with the right one "
    "first (in Python raw.decode('cp1252'), not errors='surrogateescape'; on the command "
    "line, a terminal set to UTF-8), or remove the character."
)


def first_unstorable(text: str) -> int | None:
    """The index of the first lone surrogate in ``text``; None when UTF-8 can encode it
    all (one pass in C: the check costs about what encoding the text costs)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def unstorable_error(text: str, what: str, position: int, fix: str = DECODE_FIRST) -> InvalidInput:
    """The InvalidInput for the lone surrogate at ``text[position]``; ``what`` names the
    field (it starts the message), ``fix`` says what to do (sentences)."""
    return surrogate_error(what, ord(text[position]), position, fix)


def surrogate_error(what: str, code: int, position: int, fix: str = DECODE_FIRST) -> InvalidInput:
    """The InvalidInput for the lone surrogate ``code`` at index ``position`` of the text
    ``what`` names: the character as its escape, the position counted from 1 and, for one
    that stands for a byte (U+DC80 to U+DCFF), the byte."""
    byte = ""
    if 0xDC80 <= code <= 0xDCFF:  # how Python keeps a byte that is not UTF-8 (PEP 383)
        byte = f", which stands for the byte 0x{code - 0xDC00:02x} that is not UTF-8"
    return InvalidInput(
        f"{what} holds a lone surrogate \\u{code:04x} at position {position + 1}{byte}: half "
        f"of a UTF-16 pair, not a character, so it cannot be stored or used as text. {fix}"
    )


def check_storable(text: str, what: str, fix: str = DECODE_FIRST) -> str:
    """Return ``text`` if it can be stored (no lone surrogate), else raise InvalidInput
    naming ``what`` (e.g. "Param 'lr' value"), the character and its position."""
    position = first_unstorable(text)
    if position is not None:
        raise unstorable_error(text, what, position, fix)
    return text


def escape_unstorable(text: str) -> str:
    """``text`` with each lone surrogate written as its escape (``\\udcff``), for text the
    workbench makes and keeps rather than refuses (an exception's message, say)."""
    if first_unstorable(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def find_unstorable(value: Any) -> tuple[tuple, str, int] | None:
    """The first lone surrogate in JSON-like ``value`` (dicts, lists, tuples, strings, in
    order, keys before their values): (path, text, index), where ``path`` is the keys and
    list indexes down to ``text`` and ends with :data:`KEY` when ``text`` is a dict key;
    None when every string is valid Unicode. Iterative, so any depth is fine."""
    for path, text in _strings(value):
        position = first_unstorable(text)
        if position is not None:
            return path, text, position
    return None


KEY = object()  # ends a :func:`find_unstorable` path when the text is a dict key


def _strings(value: Any) -> Iterator[tuple[tuple, str]]:
    stack: list[tuple[tuple, Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            yield path, item
        elif isinstance(item, dict):
            for key, inner in reversed(list(item.items())):
                stack.append(((*path, key), inner))
                if isinstance(key, str):
                    stack.append(((*path, key, KEY), key))
        elif isinstance(item, list | tuple):
            stack.extend(((*path, i), inner) for i, inner in reversed(list(enumerate(item))))
