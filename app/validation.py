"""One place that checks what users log, with one message shape:
what is wrong, the offending value, what to do.

Policy (documented in README and docs/architecture.md):

* keys (params, metrics, tags) are strings of 1 to 250 characters made of letters, digits,
  ``_ - . / :`` and spaces, the set MLflow allows plus ``:``; quotes, semicolons and other
  SQL metacharacters are refused, so every key can be written in a filter unquoted;
* names (experiments, runs) are 1 to 250 characters, anything printable: no control
  characters and no invisible formatting characters (a right-to-left override U+202E
  shows ``abc<U+202E>fed`` as ``abcdef``), one rule for every kind of name: datasets,
  models and aliases have narrower character sets still, users theirs (``workbench.team.auth``);
  a name is blank when it is only whitespace and characters that show as nothing (the
  Hangul fillers U+3164, U+115F, U+1160, U+FFA0 and the other Default_Ignorable_Code_Point
  characters that are not already refused as invisible; U+2800 BRAILLE PATTERN BLANK);
* every text that is kept is valid Unicode: a lone surrogate (``\\udcff``, what a byte that
  is not UTF-8 becomes in a command-line argument or a file name) is refused, naming the
  field and the position (``store.text.check_storable``);
* param values are None, bool, int (64-bit), float or str (up to 6,000 characters); numpy
  scalars are accepted as their Python value;
* metric values are real numbers; NaN and +-inf are accepted and stored as logged (a loss
  that diverges is information), shown as such, and left out of min/max summaries;
* steps are integers from 0; tag values are strings up to 8,000 characters.
"""

from __future__ import annotations

import numbers
import re
import unicodedata
from pathlib import PurePosixPath

from workbench.store.entities import ParamValue
from workbench.store.errors import InvalidInput
from workbench.store.text import check_storable

MAX_KEY = 250
MAX_NAME = 250
MAX_PARAM_STR = 6000
MAX_TAG_VALUE = 8000
_INT64 = (-(2**63), 2**63 - 1)
_KEY_RE = re.compile(r"^[\w\-./: ]+$")


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_key(key: object, what: str) -> str:
    """Return ``key`` if it is a valid param/metric/tag key (``what``: the kind the
    message names, e.g. "Param" or "Tag"): a str of 1 to ``MAX_KEY`` (250) letters,
    digits, ``_ - . / :`` and inner spaces (MLflow's set plus ``:``), valid Unicode. Else
    raise InvalidInput."""
    if not isinstance(key, str):
        raise InvalidInput(
            f"{what} keys must be strings; got {_show(key)} ({type(key).__name__}). "
            f"Convert it, e.g. str(key)."
        )
    check_storable(key, f"{what} key {_show(key)}")
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(
            f"{what} key must be 1 to {MAX_KEY} characters; got {len(key)} characters "
            f"({_show(key)})."
        )
    if not _KEY_RE.match(key) or key != _strip_blank(key):
        raise InvalidInput(
            f"{what} key {_show(key)} has characters that are not allowed; use letters, "
            "digits, '_', '-', '.', '/', ':' and inner spaces."
        )
    return key


def check_name(name: object, what: str) -> str:
    """Return ``name`` if it is a valid experiment or run name (``what``: the kind the
    message names), else raise InvalidInput: 1 to 250 characters, valid Unicode, not blank
    (only whitespace and characters that show as nothing, see :func:`shows_blank`), no
    control or invisible character."""
    if not isinstance(name, str):
        raise InvalidInput(f"{what} name must be a string; got {_show(name)}.")
    check_storable(name, f"{what} name {_show(name)}")
    if name and not _strip_blank(name):
        filler = next((c for c in name if not c.isspace()), None)
        shown = ""
        if filler is not None:
            shown = f" (U+{ord(filler):04X} {_char_name(filler)} shows as nothing)"
        raise InvalidInput(
            f"{what} name must not be blank; got {_show(name)}{shown}. Give it a name with "
            "letters or digits."
        )
    if not name.strip() or len(name) > MAX_NAME:
        raise InvalidInput(
            f"{what} name must be 1 to {MAX_NAME} characters; got {len(name)} characters "
            f"({_show(name)})."
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput(f"{what} name {_show(name)} contains control characters; remove them.")
    hidden = next((c for c in name if _invisible(c)), None)
    if hidden is not None:
        raise InvalidInput(
            f"{what} name {_show(name)} contains U+{ord(hidden):04X} "
            f"({_char_name(hidden)}), a character that is "
            "not shown but changes how the name reads; remove it."
        )
    return name


def check_note(text: str, what: str) -> str:
    """A one-line note a user types that the audit log keeps and shows (a reason for an
    override, for instance): any length, but no control or invisible character (see
    :func:`check_name`), which would forge a line or reverse the text where it is read.
    InvalidInput naming the character (a lone surrogate: see :func:`check_storable`)."""
    check_storable(text, what)
    hidden = next((c for c in text if ord(c) < 32 or ord(c) == 127 or _invisible(c)), None)
    if hidden is not None:
        raise InvalidInput(
            f"{what} contains U+{ord(hidden):04X} "
            f"({_char_name(hidden)}), which would change how the "
            "audit log reads; remove it."
        )
    return text


def escape_invisible(text: str) -> str:
    """``text`` with each control or invisible character (see :func:`check_name`: a bidi
    override such as U+202E, a zero-width space, a newline) written out as its escape
    (``\\u202e``), whatever its length: for text shown in a terminal that must not reorder
    or break the line around it (the CLI's tables)."""
    return "".join(
        f"\\u{ord(c):04x}" if (ord(c) < 32 or ord(c) == 127 or _invisible(c)) else c for c in text
    )


def visible_name(name: str) -> str:
    """``name`` as a name may read: each control or invisible character (see
    :func:`check_name`) written out as its escape (``\\u202e``), and so each filler of a
    name that would show as blank (``\\u3164``), cut to the name limit. For names that come
    from elsewhere (an MLflow store being imported), which are kept rather than refused."""
    shown = escape_invisible(name)
    if shown and not _strip_blank(shown):
        shown = "".join(c if c.isspace() else f"\\u{ord(c):04x}" for c in shown)
    return shown[:MAX_NAME]


# Joiners shape emoji sequences and Persian or Indic words: printable in effect.
_JOINERS = {"\u200c", "\u200d"}

# Characters that show as nothing but are neither whitespace nor refused as invisible
# (:func:`_invisible`): the Default_Ignorable_Code_Point characters of Unicode's
# DerivedCoreProperties.txt that are letters or marks (the Hangul fillers, which fonts draw
# as empty space, the combining grapheme joiner, the Khmer inherent vowels, the variation
# selectors), and U+2800 BRAILLE PATTERN BLANK, a blank glyph. ``unicodedata`` does not
# expose the property, so the ranges are written out.
_SHOWS_BLANK = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)


def shows_blank(c: str) -> bool:
    """True for a character that shows as empty space or nothing: whitespace, and the
    fillers and other default-ignorable letters and marks (``_SHOWS_BLANK``). A name made
    only of these is blank."""
    return c.isspace() or c in _SHOWS_BLANK


def _strip_blank(text: str) -> str:
    """``text`` without the characters at either end that show as blank (as ``str.strip``
    with the fillers counted as whitespace)."""
    start, end = 0, len(text)
    while start < end and shows_blank(text[start]):
        start += 1
    while end > start and shows_blank(text[end - 1]):
        end -= 1
    return text[start:end]


def _char_name(c: str) -> str:
    """What a character is called in a message: its Unicode name, else what it is."""
    fallback = {
        "Cs": "a lone surrogate (half of a UTF-16 pair)",
        "Co": "a private-use character",
        "Cc": "a control character",
    }.get(unicodedata.category(c), "an unassigned code point")
    return unicodedata.name(c, fallback)


def _invisible(c: str) -> bool:
    """True for a character a name must not carry: control (Cc), format (Cf: the bidi
    overrides and isolates, zero-width spaces, the byte-order mark; not the joiners),
    surrogate, private-use, unassigned, and the line and paragraph separators (Unicode
    general categories, ``unicodedata.category``)."""
    return c not in _JOINERS and unicodedata.category(c) in {
        "Cc",
        "Cf",
        "Cs",
        "Co",
        "Cn",
        "Zl",
        "Zp",
    }


_DATASET_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
MAX_DATASET_NAME = 100


def check_dataset_name(name: object, what: str = "Dataset") -> str:
    """A dataset or model name (``what``: "Dataset" or "Model", the kind the message
    names): it names a folder in ``inbox/`` and appears in refs like ``churn@v3``, so only
    ASCII letters, digits, ``_ . -``, starting with a letter or digit, no ``..``, 1 to
    ``MAX_DATASET_NAME`` (100) characters. Returns ``name``; InvalidInput otherwise."""
    if not isinstance(name, str):
        raise InvalidInput(f"{what} name must be a string; got {_show(name)}.")
    check_storable(name, f"{what} name {_show(name)}")
    if not name or len(name) > MAX_DATASET_NAME:
        raise InvalidInput(
            f"{what} name must be 1 to {MAX_DATASET_NAME} characters; got "
            f"{len(name)} ({_show(name)})."
        )
    if not _DATASET_NAME_RE.match(name) or ".." in name:
        example = "churn-classifier" if what == "Model" else "churn-2024"
        raise InvalidInput(
            f"{what} name {_show(name)} is not allowed: use letters, digits, '_', '.' and "
            f"'-', starting with a letter or digit, without '..' or '/' (e.g. '{example}')."
        )
    return name


def check_param_value(key: str, value: object) -> ParamValue:
    """``value`` as a param of ``key`` keeps it: None, bool, float, an int in 64 bits, or a
    str of at most ``MAX_PARAM_STR`` (6,000) characters; a numpy scalar becomes its Python
    value. InvalidInput naming the key and value otherwise (another type, an int outside
    int64, a longer string or one with a lone surrogate)."""
    value = _unwrap_numpy(value)
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise InvalidInput(
                f"Param {key!r} = {_show(value)} does not fit in 64 bits; log it as a string."
            )
        return value
    if isinstance(value, str):
        check_storable(value, f"Param {key!r} value {_show(value)}")
        if len(value) > MAX_PARAM_STR:
            raise InvalidInput(
                f"Param {key!r} value is {len(value)} characters; the limit is {MAX_PARAM_STR}. "
                "Log long text as an artifact instead."
            )
        return value
    raise InvalidInput(
        f"Param {key!r} = {_show(value)} is a {type(value).__name__}; params are None, bool, "
        "int, float or str. Convert it (e.g. str(value) or json.dumps(value))."
    )


def check_metric_value(key: str, value: object) -> float:
    """``value`` of the metric ``key`` as a float (NaN and +-inf kept as logged); a numpy
    scalar is accepted. InvalidInput for a bool, anything that is not a real number, or a
    number past the largest float (an int of 309 digits or more)."""
    value = _unwrap_numpy(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(
            f"Metric {key!r} = {_show(value)} is not a number ({type(value).__name__}); "
            "log metrics as int or float."
        )
    try:
        return float(value)
    except OverflowError:  # an int (or Fraction) past the largest float, about 1.8e308
        raise InvalidInput(
            f"Metric {key!r} = {_show(value)} is beyond what a float holds (about 1.8e308); "
            "log float('inf') if that is what it means, or log it scaled."
        ) from None


def check_step(step: object) -> int:
    """``step`` if it is an int (or numpy integer scalar) from 0 to 2**63 - 1, not a bool;
    else InvalidInput."""
    step = _unwrap_numpy(step)
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= _INT64[1]:
        raise InvalidInput(f"step must be a whole number from 0; got {_show(step)}.")
    return step


def check_tag_value(key: str, value: object) -> str:
    """The tag value of ``key`` as text: a str, or an int, float or bool as its ``str``
    (numpy scalars too), of at most ``MAX_TAG_VALUE`` (8,000) characters. InvalidInput for
    another type, a longer text or one with a lone surrogate."""
    value = _unwrap_numpy(value)
    if not isinstance(value, str | int | float | bool):
        raise InvalidInput(
            f"Tag {key!r} = {_show(value)} is a {type(value).__name__}; tags are strings."
        )
    text = check_storable(str(value), f"Tag {key!r} value {_show(value)}")
    if len(text) > MAX_TAG_VALUE:
        raise InvalidInput(
            f"Tag {key!r} value is {len(text)} characters; the limit is {MAX_TAG_VALUE}."
        )
    return text


def check_artifact_name(name: object) -> str:
    """``name`` if it is a relative POSIX path of 1 to ``MAX_KEY`` (250) characters whose
    parts are real names: no leading '/', no '..', '.' or empty part, no backslash, NUL,
    control or invisible character, no blank part, no lone surrogate. Else InvalidInput."""
    if not isinstance(name, str) or not name or len(name) > MAX_KEY:
        raise InvalidInput(f"Artifact name must be 1 to {MAX_KEY} characters; got {_show(name)}.")
    check_storable(name, f"Artifact name {_show(name)}")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or "\x00" in name:
        raise InvalidInput(
            f"Artifact name {_show(name)} must be a relative path without '..'; "
            "e.g. 'plots/confusion.csv'."
        )
    # PurePosixPath drops "." and empty parts ("./x", "a//b"): look at what was written
    parts = name.split("/")
    if any(p in ("", ".") or not _strip_blank(p) for p in parts) or any(map(_invisible, name)):
        raise InvalidInput(
            f"Artifact name {_show(name)} is not a file name: each part between '/' must be "
            "a name (not empty, not '.', not blank, no control or invisible characters); "
            "e.g. 'plots/confusion.csv'."
        )
    return name


def _unwrap_numpy(value: object) -> object:
    # numpy scalars (np.float32(0.5), np.int64(3)) carry .item(); arrays are not scalars.
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == ():
        return item()
    return value
