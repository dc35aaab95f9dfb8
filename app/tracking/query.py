"""The runs filter language: MLflow's filter strings work as they are, plus OR,
parentheses, IS [NOT] NULL and [NOT] IN.

    metrics.auc > 0.9 and params.max_depth = 8 and tags.owner = 'ana'
    (params.estimator = 'random_forest' or params.estimator = 'svm') and metrics.f1 >= 0.7
    tags.note IS NULL or attributes.status IN ('failed', 'lost')
    status = 'finished' and run_name LIKE 'rf-%'

Fields: ``metrics.<key>`` (latest value), ``params.<key>``, ``tags.<key>``,
``attributes.<name>`` or a bare attribute (``status``, ``run_name``, ``user``,
``started_at`` ...). A key with other characters is quoted with backticks or double quotes:
``metrics.`val auc```. Strings are in single or double quotes (a quote inside is doubled or
backslash-escaped). Keywords are case-insensitive. Every value reaches SQL as a bound
parameter; an error names the token and its position.

Numbers are exact. A number written with digits only (``1152921504606846977``) is an
integer, exact at any size; with a point or an exponent (``0.1``, ``1e-3``, ``8.0``) it is a
float, the nearest double as Python's ``float()`` reads it. A value compares with it as
Python compares numbers:

- an int param with an integer exactly: with ``seed`` = 2**60 and 2**60 + 1,
  ``params.seed = 1152921504606846977`` finds only the second and
  ``params.seed > 1152921504606846976`` finds it;
- a float param or a metric with a float as IEEE doubles (``params.lr = 0.1`` finds 0.1);
- an int with a float by their exact values, never by rounding the int to a double:
  ``params.seed = 1152921504606846976.0`` (the float 2.0**60) finds 2**60 and not
  2**60 + 1, which is greater; ``params.depth = 8.0`` finds the int 8; a metric (a double)
  equals no integer a double cannot hold, so ``metrics.x = 1152921504606846977`` finds none;
- a bool param is 0 or 1 (``True == 1``); a NaN value equals nothing, is neither smaller nor
  larger than anything, and differs (``!=``) from every number;
- an integer beyond any stored value simply compares (``params.seed < 10**30`` is true of
  every int param). Int params are 64-bit: the SDK refuses to log an int outside
  [-2**63, 2**63 - 1] (log it as a string) and an MLflow import keeps such text as text.

Because MLflow quotes every param value, a quoted number compares with a numeric param as
that number (``params.max_depth = '8'``, ``params.max_depth < '10'``) and with a text param
as text. Tags are text: compared with a number, a tag whose text is a number compares as
that number (integers up to 37 digits exactly, other numbers as doubles); other tags match
no numeric comparison. Times (``started_at``, ``ended_at``) take a date or time in quotes
(``started_at > '2024-05-01'``, UTC unless an offset is given) or, as in MLflow,
milliseconds since the epoch; ``duration`` takes seconds; text attributes take quoted text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from workbench.store.entities import Condition, Filter, Where
from workbench.store.errors import InvalidInput
from workbench.store.tracking import RUN_ATTRIBUTES
from workbench.validation import check_storable

FIELDS = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "parameters": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
_OPS = ("!=", "<>", "<=", ">=", "=", "<", ">")
# Parentheses nested deeper than this are refused with a clear message: the parser recurses
# once per level (three frames), and Python's default recursion limit (1,000) is reached
# near 330 levels. No hand-written filter comes near 50.
MAX_NESTING = 50
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?(?![\w.]))
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<backtick>`[^`]*`)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<paren>[(),])
  | (?P<word>[A-Za-z_][\w\-/:]*(?:\.(?:[\w\-/:]+|`[^`]*`|"[^"]*"))*)
""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """One token of a filter: ``kind`` is the regex group that matched (number, string,
    backtick, op, paren, word), ``text`` as written, ``pos`` its 0-based offset."""

    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """The tokens of the filter ``text``, whitespace dropped. InvalidInput naming the first
    character no token starts with and its position (counted from 1)."""
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None and text[pos] in "'\"`":
            raise InvalidInput(
                f"The {text[pos]} at position {pos + 1} of the filter {_clip(text)} is never "
                f"closed; end the value with {text[pos]}, e.g. tags.owner = 'ana'."
            )
        if m is None:
            raise InvalidInput(
                f"Unexpected {text[pos]!r} at position {pos + 1} of the filter "
                f"{_clip(text)}; strings go in quotes, e.g. tags.owner = 'ana'."
            )
        if m.lastgroup != "space":
            out.append(Token(m.lastgroup or "", m.group(), pos))
        pos = m.end()
    return out


def parse(text: str) -> Filter | None:
    """The filter as a tree of :class:`Condition` joined by :class:`Where`; None if blank.
    InvalidInput, naming the token and its position, for a filter that does not parse, is
    over 5,000 characters, nests parentheses deeper than ``MAX_NESTING`` or holds a lone
    surrogate."""
    if text is None or not text.strip():
        return None
    if len(text) > 5000:
        raise InvalidInput("The filter is longer than 5,000 characters; shorten it.")
    check_storable(text, f"The filter {_clip(text)}")
    parser = _Parser(tokenize(text), text)
    tree = parser.expr()
    if parser.i < len(parser.tokens):
        tok = parser.tokens[parser.i]
        raise InvalidInput(
            f"Unexpected {tok.text!r} at position {tok.pos + 1}; join conditions with AND or OR."
        )
    return tree


def check_keys(tree: Filter | None, known: dict[str, Iterable[str]]) -> None:
    """Refuse keys no run has (``known`` maps metrics/params/tags to the keys that exist),
    suggesting the closest one."""
    for cond in conditions(tree):
        if cond.field == "attributes":
            continue
        keys = set(known.get(cond.field, ()))
        if cond.key not in keys:
            close = difflib.get_close_matches(cond.key, keys, n=1)
            hint = (
                f"; did you mean {cond.field}.{close[0]}?"
                if close
                else (
                    f"; known {cond.field}: {_some(sorted(keys), 15)}"
                    if keys
                    else f"; no run has {cond.field} yet"
                )
            )
            raise InvalidInput(f"Unknown key {cond.field}.{cond.key}{hint}")


def conditions(tree: Filter | None) -> list[Condition]:
    """Every :class:`Condition` in ``tree``, left to right ([] for None)."""
    if tree is None:
        return []
    if isinstance(tree, Condition):
        return [tree]
    return [c for item in tree.items for c in conditions(item)]


class _Parser:
    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens, self.text, self.i, self.depth = tokens, text, 0, 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.upper() in words:
            self.i += 1
            return True
        return False

    def expect(self, what: str) -> Token:
        tok = self.peek()
        if tok is None:
            raise InvalidInput(f"The filter {_clip(self.text)} ends early; expected {what}.")
        self.i += 1
        return tok

    def expr(self) -> Filter:
        items = [self.term()]
        while self.keyword("OR"):
            items.append(self.term())
        return items[0] if len(items) == 1 else Where("OR", tuple(items))

    def term(self) -> Filter:
        items = [self.factor()]
        while self.keyword("AND"):
            items.append(self.factor())
        return items[0] if len(items) == 1 else Where("AND", tuple(items))

    def factor(self) -> Filter:
        tok = self.peek()
        if tok is not None and tok.text == "(":
            self.i += 1
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise InvalidInput(
                    f"The filter nests parentheses deeper than {MAX_NESTING} "
                    f"levels (at position {tok.pos + 1}); remove the extra "
                    "parentheses."
                )
            inner = self.expr()
            self.depth -= 1
            close = self.expect("')'")
            if close.text != ")":
                raise InvalidInput(
                    f"Expected ')' at position {close.pos + 1}, found {close.text!r}."
                )
            return inner
        return self.comparison()

    def comparison(self) -> Condition:
        tok = self.expect("a field such as metrics.auc")
        field, key = _identifier(tok)
        if self.keyword("IS"):
            negated = self.keyword("NOT")
            if not self.keyword("NULL"):
                raise InvalidInput(f"Expected NULL after IS at position {tok.pos + 1}.")
            return Condition(field, key, "IS NOT NULL" if negated else "IS NULL")
        negated = self.keyword("NOT")
        if self.keyword("IN"):
            return Condition(field, key, "NOT IN" if negated else "IN", self.value_list())
        if negated:
            raise InvalidInput(f"Expected IN after NOT in the condition on {tok.text!r}.")
        op = self.peek()
        if op is not None and op.kind == "word" and op.text.upper() in ("LIKE", "ILIKE"):
            self.i += 1
            return Condition(field, key, op.text.upper(), self.value())
        op = self.expect(f"a comparison after {tok.text!r}")
        if op.kind != "op":
            raise InvalidInput(
                f"Expected a comparison (=, !=, <, <=, >, >=, LIKE, IN, IS "
                f"NULL) after {tok.text!r}, found {op.text!r} at position "
                f"{op.pos + 1}."
            )
        return Condition(field, key, "!=" if op.text == "<>" else op.text, self.value())

    def value(self) -> float | int | str:
        tok = self.expect("a value")
        if tok.kind == "number":  # digits only: an int, exact at any size; else a float
            if len(tok.text) > 400:
                raise InvalidInput(
                    f"The number at position {tok.pos + 1} is longer than 400 "
                    "characters; shorten it (e.g. 1e400)."
                )
            return int(tok.text) if re.fullmatch(r"[-+]?[0-9]+", tok.text) else float(tok.text)
        if tok.kind == "string":
            return _unquote(tok.text)
        if tok.kind == "word" and tok.text.upper() in ("TRUE", "FALSE"):
            return tok.text.lower()
        hint = f"; quote text values, e.g. '{tok.text}'" if tok.kind == "word" else ""
        if tok.text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            hint = (
                "; NaN equals nothing, so no filter selects it (as in Python): sort by the "
                "metric instead, NaN comes last either way; infinity is a number, write it "
                "1e400 or -1e400"
            )
        raise InvalidInput(
            f"Expected a number or a quoted string at position {tok.pos + 1}, found "
            f"{tok.text!r}{hint}."
        )

    def value_list(self) -> tuple:
        if self.expect("'('").text != "(":
            raise InvalidInput("IN needs a list in parentheses, e.g. IN ('a', 'b').")
        if (tok := self.peek()) is not None and tok.text == ")":
            raise InvalidInput(
                f"IN () at position {tok.pos} is empty; list at least one value, e.g. "
                "IN ('a', 'b')."
            )
        values = [self.value()]
        while (tok := self.expect("')'")).text == ",":
            values.append(self.value())
        if tok.text != ")":
            raise InvalidInput(f"Expected ',' or ')' at position {tok.pos + 1}.")
        return tuple(values)


def _identifier(tok: Token) -> tuple[str, str]:
    if tok.kind != "word":
        raise InvalidInput(
            f"Expected a field such as metrics.auc at position {tok.pos + 1}, found {tok.text!r}."
        )
    head, _, rest = tok.text.partition(".")
    field = FIELDS.get(head.lower())
    if field is None:
        if not rest and head.lower() in RUN_ATTRIBUTES:
            return "attributes", head.lower()
        raise InvalidInput(
            f"Unknown field {tok.text!r} at position {tok.pos + 1}; write "
            "metrics.<key>, params.<key>, tags.<key> or an attribute such as "
            "status."
        )
    if not rest:
        raise InvalidInput(f"{tok.text!r} needs a key, e.g. {head}.auc.")
    key = rest[1:-1] if rest[:1] in ("`", '"') and rest[-1:] == rest[:1] else rest
    if field == "attributes":
        key = key.lower()
        if key not in RUN_ATTRIBUTES:
            raise InvalidInput(
                f"Unknown attribute {key!r}; known: {', '.join(sorted(RUN_ATTRIBUTES))}."
            )
    return field, key


def _unquote(text: str) -> str:
    quote, body = text[0], text[1:-1]
    return re.sub(r"\\(.)", r"\1", body.replace(quote * 2, quote))


def _some(names: list[str], n: int) -> str:
    """The first ``n`` names, and how many more there are."""
    more = f" and {len(names) - n:,} more" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def _clip(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:79] + "…")
