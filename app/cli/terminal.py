"""Lines the CLI prints for a person to read, from text that may come from data (column
names, check messages, notes): a bidi override, an escape sequence or a newline inside
would reorder, recolour or break the terminal's line, so each is written out
(``\\u202e``), as the tables do (``workbench.validation.escape_invisible``). Machine output
(csv, json) does not go through here: it carries the text as it is."""

from __future__ import annotations

from typing import Any

from workbench.validation import escape_invisible


def say(line: str, **kwargs: Any) -> None:
    """Print one ``line`` (no newline of its own inside) with invisible characters written
    out; ``kwargs`` as for ``print`` (``flush``, ``file``)."""
    print(escape_invisible(line), **kwargs)
