"""Lines the CLI prints for a person to read, from text that may come from data (column
names, check messages, notes): a bidi override, an escape sequence or a newline inside
would reorder, recolour or break the terminal's line, so each is written out
(``\\u202e``), as the tables do (``workbench.validation.escape_invisible``). Machine output
(csv, json) does not go through here: it carries the text as it is."""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd

from workbench.store import jsontext
from workbench.validation import escape_invisible


def say(line: str, **kwargs: Any) -> None:
    """Print one ``line`` (no newline of its own inside) with invisible characters written
    out; ``kwargs`` as for ``print`` (``flush``, ``file``)."""
    print(escape_invisible(line), **kwargs)


def print_frame(frame: pd.DataFrame, fmt: str) -> None:
    """Print ``frame`` on stdout as ``fmt``: ``"csv"`` (the text as it is), ``"json"``
    (records; NaN and NULL as null) or ``"table"`` (for a person: invisible characters
    written out, ``(none)`` for no rows)."""
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        print(jsontext.dumps(records, default=str, indent=1))  # NaN and NULL: null
    elif frame.empty:
        print("(none)")
    else:
        # A table is read in a terminal: a tag value or column name holding U+202E or a
        # newline would reorder or break its line (csv and json carry the text as it is).
        # Column by column, text columns kept as objects: DataFrame.map re-infers each
        # column, and a param column of ints and None came out as floats (5.0, 3.0).
        frame = frame.copy()
        for i in range(frame.shape[1]):
            if pd.api.types.is_object_dtype(frame.dtypes.iloc[i]):
                frame.isetitem(
                    i,
                    pd.Series(
                        [
                            escape_invisible(v) if isinstance(v, str) else v
                            for v in frame.iloc[:, i]
                        ],
                        index=frame.index,
                        dtype=object,
                    ),
                )
        frame.columns = [escape_invisible(str(c)) for c in frame.columns]
        with pd.option_context(
            "display.max_columns", 12, "display.width", 160, "display.max_colwidth", 40
        ):
            print(frame.to_string(index=False))
