"""SQL for experiments, runs, params, metrics, tags and artifacts (writing a run's logged
events is :mod:`store.ingestion`).

Functions take an open :class:`~store.gateway.Tx` so a service can put several of them in
one unit of work. Every value reaches SQL as a bound parameter; the only names spliced into
SQL text come from the fixed tables below, never from the caller.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd

from workbench.store.entities import (
    RUN_KINDS,
    RUN_STATUSES,
    Artifact,
    Condition,
    Experiment,
    ExperimentSummary,
    Filter,
    MetricSummary,
    OrderBy,
    ParamValue,
    Run,
)
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.gateway import Tx

_RUN_COLS = (
    "run_id, experiment_id, name, status, source, parent_run_id, created_by, host, pid, "
    "started_at, ended_at, error, lifecycle, kind"
)
_EXP_COLS = "experiment_id, name, description, lifecycle, created_at, created_by"

# Attributes a search may compare or order by, mapped to their column.
RUN_ATTRIBUTES = {
    "run_id": "r.run_id",
    "name": "r.name",
    "run_name": "r.name",
    "status": "r.status",
    "source": "r.source",
    "created_by": "r.created_by",
    "user": "r.created_by",
    "started_at": "r.started_at",
    "start_time": "r.started_at",
    "ended_at": "r.ended_at",
    "end_time": "r.ended_at",
    "parent_run_id": "r.parent_run_id",
    "kind": "r.kind",  # run | sweep | trial (entities.RUN_KINDS)
    # a queued run has no duration yet (its started_at is when it was queued)
    "duration": (
        "CASE WHEN r.status <> 'queued' "
        "THEN epoch(coalesce(r.ended_at, now()::TIMESTAMP) - r.started_at) END"
    ),
}
# A list of values bound as one parameter (one bind, whatever the length).
_IN_LIST = "{col} IN (SELECT unnest(?::VARCHAR[]))"
COMPARISONS = (
    "=",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "LIKE",
    "ILIKE",
    "IS NULL",
    "IS NOT NULL",
    "IN",
    "NOT IN",
)


# -- experiments ------------------------------------------------------------------------


def insert_experiment(tx: Tx, exp: Experiment) -> None:
    """Insert experiment ``exp``. A name already taken fails on the table's UNIQUE key (the
    gateway reports it as AlreadyExists when the unit of work ends); callers check with
    :func:`find_experiment` first."""
    tx.execute(
        f"INSERT INTO experiments ({_EXP_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
        [
            exp.experiment_id,
            exp.name,
            exp.description,
            exp.lifecycle,
            exp.created_at,
            exp.created_by,
        ],
    )


def find_experiment(tx: Tx, name: str) -> Experiment | None:
    """The experiment named ``name`` (exact, case-sensitive; any lifecycle), or None."""
    row = tx.record(f"SELECT {_EXP_COLS} FROM experiments WHERE name = ?", [name])
    return Experiment(**row) if row else None


def get_experiment(tx: Tx, experiment_id: str) -> Experiment:
    """The experiment with id ``experiment_id`` (any lifecycle). Raises NotFound."""
    row = tx.record(f"SELECT {_EXP_COLS} FROM experiments WHERE experiment_id = ?", [experiment_id])
    if row is None:
        raise NotFound(f"Experiment {experiment_id!r} not found.")
    return Experiment(**row)


def experiment_names(tx: Tx) -> dict[str, str]:
    """experiment_id -> name, every experiment (cheap: for labelling runs)."""
    return dict(tx.fetchall("SELECT experiment_id, name FROM experiments"))


def list_experiments(tx: Tx) -> list[ExperimentSummary]:
    """Every active experiment with the counts of its active runs (see
    :class:`ExperimentSummary`), the one with the latest run first, experiments without a
    run last, ties by name."""
    rows = tx.records(
        f"""SELECT {", ".join("e." + c.strip() for c in _EXP_COLS.split(","))},
                   count(r.run_id) AS run_count,
                   count(r.run_id) FILTER (WHERE r.status = 'running') AS running,
                   max(r.started_at) AS last_run_at,
                   count(r.run_id) FILTER (WHERE r.status = 'queued') AS queued
            FROM experiments e
            LEFT JOIN runs r ON r.experiment_id = e.experiment_id AND r.lifecycle = 'active'
            WHERE e.lifecycle = 'active'
            GROUP BY ALL ORDER BY max(r.started_at) DESC NULLS LAST, e.name"""
    )
    counts = ("run_count", "running", "last_run_at", "queued")
    return [
        ExperimentSummary(
            Experiment(**{k: v for k, v in row.items() if k not in counts}),
            **{k: row[k] for k in counts},
        )
        for row in rows
    ]


# -- runs -------------------------------------------------------------------------------


def insert_run(tx: Tx, run: Run) -> None:
    """Insert ``run`` (its ``kind`` too: run, sweep or trial) and its ingestion cursor.
    Raises InvalidInput for a kind not in ``RUN_KINDS``."""
    if run.kind not in RUN_KINDS:
        raise InvalidInput(f"A run's kind is one of {', '.join(RUN_KINDS)}; got {run.kind!r}.")
    tx.execute(
        f"INSERT INTO runs ({_RUN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run.run_id,
            run.experiment_id,
            run.name,
            run.status,
            run.source,
            run.parent_run_id,
            run.created_by,
            run.host,
            run.pid,
            run.started_at,
            run.ended_at,
            run.error,
            run.lifecycle,
            run.kind,
        ],
    )
    tx.execute("INSERT INTO run_ingest (run_id) VALUES (?)", [run.run_id])


def get_run(tx: Tx, run_id: str) -> Run:
    """The run with id ``run_id`` (any lifecycle: a deleted run too). Raises NotFound."""
    row = tx.record(f"SELECT {_RUN_COLS} FROM runs WHERE run_id = ?", [run_id])
    if row is None:
        raise NotFound(f"Run {run_id!r} not found; `workbench runs list` shows the runs.")
    return Run(**row)


def finish_run(tx: Tx, run_id: str, status: str, error: str | None, ended_at: datetime) -> None:
    """End a queued or running run (an ended one is left as it is). A run ended while
    queued never ran: its start becomes its end, so its duration is 0, not its wait."""
    tx.execute(
        "UPDATE runs SET status = ?, error = ?, ended_at = ?, "
        "started_at = CASE WHEN status = 'queued' THEN ? ELSE started_at END "
        "WHERE run_id = ? AND status IN ('queued', 'running')",
        [status, error, ended_at, ended_at, run_id],
    )


def unended_runs(tx: Tx) -> list[Run]:
    """Every run still queued or running (any lifecycle): what the lost-run reaper checks."""
    rows = tx.records(f"SELECT {_RUN_COLS} FROM runs WHERE status IN ('queued', 'running')")
    return [Run(**row) for row in rows]


def search_runs(
    tx: Tx,
    *,
    experiment_ids: Sequence[str] | None = None,
    conditions: Sequence[Condition] = (),
    order_by: Sequence[OrderBy] = (),
    limit: int | None = None,
    offset: int = 0,
    lifecycle: str = "active",
    where_filter: Filter | None = None,
) -> list[Run]:
    """Runs matching every condition (and ``where_filter``, a tree with OR), ordered:
    all of them, or the page of at most ``limit`` after ``offset``. Default order: newest
    first. :func:`count_matching` says how many there are in all."""
    if experiment_ids is not None and not experiment_ids:
        return []
    where, params = _search_where(experiment_ids, conditions, lifecycle, where_filter)
    joins, join_params, order_terms = [], [], []
    for i, ob in enumerate(order_by):
        exprs, join, jparams = _order_sql(ob, i)
        if join:
            joins.append(join)
            join_params += jparams  # in join order; all of them precede the WHERE's
        direction = "DESC" if ob.descending else "ASC"
        order_terms += [f"{e} {direction} NULLS LAST" for e in exprs]
    order_terms.append("r.started_at DESC, r.run_id")
    sql = (
        f"SELECT {', '.join('r.' + c.strip() for c in _RUN_COLS.split(','))} FROM runs r "
        f"{' '.join(joins)} WHERE {' AND '.join(where)} "
        f"ORDER BY {', '.join(order_terms)} LIMIT ? OFFSET ?"
    )
    if limit is not None and int(limit) < 0:
        raise InvalidInput(f"limit must be 0 or more; got {limit}.")
    # LIMIT NULL is no limit
    page = [None if limit is None else int(limit), max(int(offset), 0)]
    rows = tx.records(sql, [*join_params, *params, *page])
    return [Run(**row) for row in rows]


def count_matching(
    tx: Tx,
    *,
    experiment_ids: Sequence[str] | None = None,
    conditions: Sequence[Condition] = (),
    lifecycle: str = "active",
    where_filter: Filter | None = None,
) -> int:
    """How many runs :func:`search_runs` would find without a limit."""
    if experiment_ids is not None and not experiment_ids:
        return 0
    where, params = _search_where(experiment_ids, conditions, lifecycle, where_filter)
    return int(tx.scalar(f"SELECT count(*) FROM runs r WHERE {' AND '.join(where)}", params))


def _search_where(experiment_ids, conditions, lifecycle, where_filter) -> tuple[list, list]:
    where, params = ["r.lifecycle = ?"], [lifecycle]
    if experiment_ids is not None:
        where.append(f"r.experiment_id IN ({', '.join('?' * len(experiment_ids))})")
        params += list(experiment_ids)
    for cond in [*conditions, *([where_filter] if where_filter is not None else [])]:
        sql, values = filter_sql(cond)
        where.append(sql)
        params += values
    return where, params


def known_keys(tx: Tx, experiment_ids: Sequence[str] | None = None) -> dict[str, list[str]]:
    """The distinct metric, param and tag keys (of these experiments' runs)."""
    scope, params = "", []
    if experiment_ids is not None:
        scope = (
            "WHERE run_id IN (SELECT run_id FROM runs WHERE experiment_id IN (SELECT unnest(?)))"
        )
        params = [list(experiment_ids)]
    keys: dict[str, list[str]] = {"metrics": [], "params": [], "tags": []}
    parts = [
        f"SELECT DISTINCT '{kind}', key FROM {table} {scope}"
        for kind, table in (("metrics", "metric_summary"), ("params", "params"), ("tags", "tags"))
    ]
    for kind, key in tx.fetchall(" UNION ALL ".join(parts) + " ORDER BY 1, 2", params * 3):
        keys[kind].append(key)
    return keys


def count_runs(tx: Tx) -> dict[str, int]:
    """``{status: number of active runs}`` over every experiment; a status no active run
    has is absent (not 0)."""
    rows = tx.fetchall(
        "SELECT status, count(*) FROM runs WHERE lifecycle = 'active' GROUP BY status"
    )
    return dict(rows)


def filter_sql(node: Filter) -> tuple[str, list]:
    """SQL and parameters for a condition or a tree of them."""
    if isinstance(node, Condition):
        return condition_sql(node)
    if node.op not in ("AND", "OR") or not node.items:
        raise InvalidInput(f"A filter group joins conditions with AND or OR; got {node.op!r}.")
    parts, params = [], []
    for item in node.items:
        sql, values = filter_sql(item)
        parts.append(f"({sql})")
        params += values
    return f" {node.op} ".join(parts), params


def condition_sql(cond: Condition) -> tuple[str, list]:
    """SQL and parameters for one condition. Raises :class:`InvalidInput` for unknown parts
    and for a value of the wrong kind (text against a metric, a number against a run name).

    Numbers compare as Python compares them (the rule is in :mod:`workbench.tracking.query`): an
    int with
    an int exactly, a float with a float as IEEE doubles, an int with a float by their exact
    values; NaN equals nothing and is neither smaller nor larger than anything.
    """
    op = cond.op.upper().strip()
    if op not in COMPARISONS:
        raise InvalidInput(f"Unknown comparison {cond.op!r}; use one of {', '.join(COMPARISONS)}.")
    op = "!=" if op == "<>" else op
    if cond.field == "attributes":
        return _attribute_sql(cond, op)
    table, (float_col, int_col), text_col = _keyed_value(cond)
    where = "x.run_id = r.run_id AND x.key = ?"
    if op in ("IS NULL", "IS NOT NULL"):
        exists = f"EXISTS (SELECT 1 FROM {table} x WHERE {where})"
        return (f"NOT {exists}" if op == "IS NULL" else exists), [cond.key]
    name = f"{cond.field}.{cond.key}"
    values = _values(cond) if op in ("IN", "NOT IN") else (cond.value,)
    numbers = [_as_number(v) for v in values]
    if op in ("LIKE", "ILIKE"):
        if not isinstance(cond.value, str) or text_col is None:
            raise InvalidInput(
                f"{name} {op} {cond.value!r}: {op} matches text with a "
                "quoted pattern, e.g. tags.note LIKE 'rf-%'."
            )
        test, params = f"{text_col} {op} ?", [cond.value]
    elif all(n is not None for n in numbers):
        test, params = (
            _number_in_sql(float_col, int_col, numbers)
            if op in ("IN", "NOT IN")
            else _number_sql(float_col, int_col, op, numbers[0])
        )
    elif text_col is None:
        raise InvalidInput(f"{name} is compared with {cond.value!r}; metrics compare with numbers.")
    elif any(n is not None for n in numbers):
        raise InvalidInput(f"The list for {name} mixes numbers and text; use one kind.")
    elif op in ("IN", "NOT IN"):
        test, params = f"{text_col} IN (SELECT unnest(?::VARCHAR[]))", [[_text(v) for v in values]]
    else:
        test, params = f"{text_col} {op} ?", [_text(cond.value)]
    if cond.field == "params" and op not in ("LIKE", "ILIKE"):
        # MLflow quotes every param value: a quoted number compares with a numeric param
        # as that number ('8' = 8, '0.10' = 0.1, '10' > 9), with text params as text.
        quoted = [q for v in values if (q := _quoted_number(v)) is not None]
        if quoted and (op in ("IN", "NOT IN") or len(quoted) == len(values)):
            number_test, number_params = (
                _number_in_sql(float_col, int_col, quoted)
                if op in ("IN", "NOT IN")
                else _number_sql(float_col, int_col, op, quoted[0])
            )
            test = f"CASE WHEN x.kind = 'str' THEN {test} ELSE {number_test} END"
            params = [*params, *number_params]
    exists = f"EXISTS (SELECT 1 FROM {table} x WHERE {where} AND ({test}))"
    return (f"NOT {exists}" if op == "NOT IN" else exists), [cond.key, *params]


# Integers in a comparison are clamped to +-2**126: every integer a store column holds is
# strictly inside (params are int64, a tag compares as an integer up to 37 digits), so a
# clamped bound orders against it as the true one does, and it fits DuckDB's HUGEINT.
_INT_BOUND = 2**126
# A tag's text read as an integer (exact) when it is one of at most 37 digits, else as a
# double when it is a number; other text matches no numeric comparison.
_TAG_INT = r"regexp_full_match(x.value, '[-+]?[0-9]{1,37}')"
_TAG_NUMBER = (
    f"CASE WHEN NOT {_TAG_INT} THEN TRY_CAST(x.value AS DOUBLE) END",
    f"CASE WHEN {_TAG_INT} THEN x.value::HUGEINT END",
)


def _keyed_value(cond: Condition) -> tuple[str, tuple[str | None, str | None], str | None]:
    """(table, (double column, integer column), text column) of a field's values."""
    if cond.field == "metrics":
        return "metric_summary", ("x.last_value", None), None
    if cond.field == "params":
        text = (
            "coalesce(x.value_str, x.value_int::VARCHAR, x.value_float::VARCHAR, "
            "x.value_bool::VARCHAR)"
        )
        # A bool param is the integer 0 or 1, as in Python (True == 1).
        return "params", ("x.value_float", "coalesce(x.value_int, x.value_bool::BIGINT)"), text
    if cond.field == "tags":
        return "tags", _TAG_NUMBER, "x.value"
    raise InvalidInput(f"Unknown field {cond.field!r}; use metrics, params, tags or attributes.")


def _number_sql(
    float_col: str | None, int_col: str | None, op: str, q: int | float
) -> tuple[str, list]:
    """``value op q`` for a row whose value is in ``float_col`` (a DOUBLE) or ``int_col`` (an
    integer), exactly as Python compares an int or a float with ``q``.

    DuckDB would compare a BIGINT with a DOUBLE as two doubles (2**60 + 1 = 2.0**60) and
    orders NaN above everything, so each side is reduced to the sign of value - q computed
    without rounding: against a double, first against ``F = float(q)`` (rounding is
    monotonic, so value < F means value < q) and, when value == F, by the exact comparison
    of F with q done in Python; against an integer, with the integers around q.
    """
    if op not in ("=", "!=", "<", "<=", ">", ">="):
        raise InvalidInput(f"Numbers compare with =, !=, <, <=, >, >=, IN; not {op!r}.")
    tests: list[str] = []
    params: list = []
    if isinstance(q, float) and math.isnan(q):  # NaN is unequal to all, and unordered
        cols = [c for c in (float_col, int_col) if c is not None]
        return (" OR ".join(f"{c} IS NOT NULL" for c in cols) if op == "!=" else "false"), []
    if float_col is not None:
        f = _nearest_double(q)
        tie = (f > q) - (f < q)  # Python compares an int with a float exactly
        nan = "true" if op == "!=" else "false"
        tests.append(
            f"WHEN {float_col} IS NOT NULL THEN CASE WHEN isnan({float_col}) THEN {nan} "
            f"ELSE (CASE WHEN {float_col} < ?::DOUBLE THEN -1 WHEN {float_col} > "
            f"?::DOUBLE THEN 1 ELSE ? END) {op} 0 END"
        )
        params += [f, f, tie]
    if int_col is not None:
        lo, hi = _integers_around(q)
        # value < hi  <=> value < q;  value > lo  <=> value > q  (lo = hi = q for an integer)
        tests.append(
            f"WHEN {int_col} IS NOT NULL THEN (CASE WHEN {int_col}::HUGEINT < "
            f"?::HUGEINT THEN -1 WHEN {int_col}::HUGEINT > ?::HUGEINT THEN 1 ELSE 0 END) "
            f"{op} 0"
        )
        params += [hi, lo]
    return f"CASE {' '.join(tests)} ELSE false END", params


def _number_in_sql(
    float_col: str | None, int_col: str | None, numbers: Sequence[int | float]
) -> tuple[str, list]:
    """``value IN numbers`` with :func:`_number_sql`'s equality, one bound list per column."""
    doubles = [f for q in numbers if not _is_nan(q) and (f := _nearest_double(q)) == q]
    ints = [
        int(q)
        for q in numbers
        if not _is_nan(q) and not math.isinf(q) and q == int(q) and -_INT_BOUND < q < _INT_BOUND
    ]
    tests, params = [], []
    if float_col is not None:
        tests.append(
            f"WHEN {float_col} IS NOT NULL THEN {float_col} IN (SELECT unnest(?::DOUBLE[]))"
        )
        params.append(doubles)
    if int_col is not None:
        tests.append(
            f"WHEN {int_col} IS NOT NULL THEN {int_col}::HUGEINT IN (SELECT unnest(?::HUGEINT[]))"
        )
        params.append(ints)
    return f"CASE {' '.join(tests)} ELSE false END", params


def _nearest_double(q: int | float) -> float:
    """``float(q)``, or +-inf for an integer beyond the doubles' range."""
    try:
        return float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def _integers_around(q: int | float) -> tuple[int, int]:
    """(floor(q), ceil(q)), clamped to +-2**126 (see ``_INT_BOUND``)."""
    if isinstance(q, float) and math.isinf(q):
        lo = hi = _INT_BOUND if q > 0 else -_INT_BOUND
    else:
        lo, hi = math.floor(q), math.ceil(q)  # exact for a float: it is a dyadic rational
    return max(-_INT_BOUND, min(lo, _INT_BOUND)), max(-_INT_BOUND, min(hi, _INT_BOUND))


def _is_nan(q: int | float) -> bool:
    return isinstance(q, float) and math.isnan(q)


def _as_number(value: object) -> int | float | None:
    """The value as a Python int or float when it is a number (numpy's too), else None."""
    if isinstance(value, bool | str) or value is None:
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return None


_NUMBER_TEXT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _quoted_number(value: object) -> int | float | None:
    """A string holding a number as the filter language writes one: digits only is an int,
    with a point or exponent a float; else None."""
    if not isinstance(value, str) or not _NUMBER_TEXT.fullmatch(value.strip()):
        return None
    text = value.strip()
    return int(text) if re.fullmatch(r"[-+]?[0-9]+", text) else float(text)


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# Run attributes by kind: what a filter may compare them with.
_TEXT_ATTRIBUTES = {
    "run_id",
    "name",
    "run_name",
    "status",
    "source",
    "created_by",
    "user",
    "parent_run_id",
    "kind",
}
_TIME_ATTRIBUTES = {"started_at", "start_time", "ended_at", "end_time"}
# The text attributes with a fixed set of values: comparing with another value is a mistake.
_VOCABULARIES = {"status": RUN_STATUSES, "kind": RUN_KINDS}
_MLFLOW_STATUS = {"SCHEDULED": "queued"}  # MLflow's other statuses are ours in capitals


def _attribute_sql(cond: Condition, op: str) -> tuple[str, list]:
    """SQL for a condition on a run attribute: text attributes take text, times take a date
    or time in quotes (or, as in MLflow, milliseconds since the epoch), ``duration`` takes
    seconds."""
    col = RUN_ATTRIBUTES.get(cond.key)
    if col is None:
        raise InvalidInput(
            f"Unknown run attribute {cond.key!r}; known: {', '.join(sorted(RUN_ATTRIBUTES))}."
        )
    if op in ("IS NULL", "IS NOT NULL"):
        return f"{col} {op}", []
    values = _values(cond) if op in ("IN", "NOT IN") else (cond.value,)
    numbers = [_as_number(v) for v in values]
    if op in ("LIKE", "ILIKE"):
        if not isinstance(cond.value, str):
            raise InvalidInput(
                f"{cond.key} {op} needs a quoted pattern, e.g. "
                f"run_name LIKE 'rf-%'; got {cond.value!r}."
            )
        return f"{col}::VARCHAR {op} ?", [cond.value]
    if cond.key in _TEXT_ATTRIBUTES:
        if any(n is not None for n in numbers):
            raise InvalidInput(
                f"{cond.key} is text; quote the value, e.g. {cond.key} = '{values[0]}'."
            )
        vocabulary = _VOCABULARIES.get(cond.key)
        if vocabulary and op in ("=", "!=", "IN", "NOT IN"):
            # status = 'bogus' matched no run, silently; MLflow's names ('FINISHED',
            # 'SCHEDULED') are read as ours
            values = tuple(_MLFLOW_STATUS.get(_text(v), _text(v).lower()) for v in values)
            unknown = [v for v in values if v not in vocabulary]
            if unknown:
                raise InvalidInput(
                    f"{cond.key} {unknown[0]!r} is not a {cond.key} a run can have; use one "
                    f"of {', '.join(vocabulary)}."
                )
            cond = replace(cond, value=values if op in ("IN", "NOT IN") else values[0])
        if op in ("IN", "NOT IN"):
            return f"{col} {op} (SELECT unnest(?::VARCHAR[]))", [[_text(v) for v in values]]
        return f"{col} {op} ?", [_text(cond.value)]
    if all(n is not None for n in numbers):
        # duration in seconds (a double); a time as MLflow's milliseconds since the epoch
        cols = (col, None) if cond.key == "duration" else (None, f"epoch_ms({col})")
        if op in ("IN", "NOT IN"):
            test, params = _number_in_sql(*cols, numbers)
            return (f"NOT ({test})" if op == "NOT IN" else test), params
        return _number_sql(*cols, op, numbers[0])
    if cond.key == "duration":
        raise InvalidInput(
            f"duration is in seconds; compare it with a number, e.g. "
            f"duration > 60; got {cond.value!r}."
        )
    times = [_timestamp(cond.key, v) for v in values]
    if op in ("IN", "NOT IN"):
        return f"{col} {op} (SELECT unnest(?::TIMESTAMP[]))", [times]
    return f"{col} {op} ?::TIMESTAMP", [times[0]]


def _timestamp(key: str, value: object) -> datetime:
    """A quoted date or time as naive UTC (runs store their times in UTC)."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"{key} is compared with {value!r}, which is not a date or time; "
            f"write e.g. {key} > '2024-05-01' or '2024-05-01 13:30'."
        ) from None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def _values(cond: Condition) -> tuple:
    values = cond.value if isinstance(cond.value, tuple | list) else (cond.value,)
    if not values:
        raise InvalidInput(f"IN needs at least one value for {cond.field}.{cond.key}.")
    return tuple(values)


def _order_sql(ob: OrderBy, i: int) -> tuple[list[str], str, list]:
    """(sort expressions, join, join parameters) for one sort key."""
    if ob.field == "attributes":
        col = RUN_ATTRIBUTES.get(ob.key)
        if col is None:
            raise InvalidInput(f"Cannot order by unknown run attribute {ob.key!r}.")
        return [col], "", []
    alias = f"o{i}"
    tables = {"metrics": "metric_summary", "params": "params", "tags": "tags"}
    if ob.field not in tables:
        raise InvalidInput(
            f"Cannot order by {ob.field!r}; use metrics, params, tags or attributes."
        )
    join = f"LEFT JOIN {tables[ob.field]} {alias} ON {alias}.run_id = r.run_id AND {alias}.key = ?"
    # NaN sorts last either way, with the runs that lack the key (DuckDB would put it above
    # every number: a diverged run first when sorting by a metric, best first).
    if ob.field == "metrics":
        return [_nan_as_null(f"{alias}.last_value")], join, [ob.key]
    if ob.field == "params":  # numbers by exact value, then text
        # As doubles first, then, among values with the same double, by what rounding cut
        # off an integer (2**60 + 1 sorts after 2**60 and after the float 2.0**60).
        as_int = f"coalesce({alias}.value_int, {alias}.value_bool::BIGINT)"
        return (
            [
                f"coalesce({as_int}::DOUBLE, {_nan_as_null(f'{alias}.value_float')})",
                f"coalesce({as_int}::HUGEINT - ({as_int}::DOUBLE)::HUGEINT, 0)",
                f"{alias}.value_str",
            ],
            join,
            [ob.key],
        )
    return [f"{alias}.value"], join, [ob.key]


def _nan_as_null(col: str) -> str:
    return f"CASE WHEN isnan({col}) THEN NULL ELSE {col} END"


# -- params, tags, metrics, artifacts of given runs -------------------------------------


def encode_param(
    value: ParamValue,
) -> tuple[str, int | None, float | None, bool | None, str | None]:
    """(kind, value_int, value_float, value_bool, value_str) for one param value."""
    if value is None:
        return ("null", None, None, None, None)
    if isinstance(value, bool):
        return ("bool", None, None, value, None)
    if isinstance(value, int):
        return ("int", value, None, None, None)
    if isinstance(value, float):
        return ("float", None, value, None, None)
    return ("str", None, None, None, str(value))


def decode_param(
    kind: str, vi: int | None, vf: float | None, vb: bool | None, vs: str | None
) -> ParamValue:
    """The param value :func:`encode_param` stored: the column of its ``kind`` (``null``,
    ``bool``, ``int``, ``float``; any other kind reads ``vs``, the text)."""
    return {"null": None, "bool": vb, "int": vi, "float": vf}.get(kind, vs)


def run_params(tx: Tx, run_id: str) -> dict[str, ParamValue]:
    """One run's params, each as the Python type it was logged with."""
    rows = tx.fetchall(
        "SELECT key, kind, value_int, value_float, value_bool, value_str FROM params "
        "WHERE run_id = ? ORDER BY key",
        [run_id],
    )
    return {key: decode_param(*rest) for key, *rest in rows}


def run_tags(tx: Tx, run_id: str) -> dict[str, str]:
    """One run's tags, ``{key: value}`` ordered by key (empty for an unknown run)."""
    return dict(tx.fetchall("SELECT key, value FROM tags WHERE run_id = ? ORDER BY key", [run_id]))


def run_columns(tx: Tx, run_ids: Sequence[str]) -> dict[str, dict[str, object]]:
    """For each run, ``{"params.<key>": value, "metrics.<key>": latest, "tags.<key>": value}``
    (the runs table's wide columns). Params keep their Python types."""
    out: dict[str, dict[str, object]] = {rid: {} for rid in run_ids}
    if not run_ids:
        return out
    page = _IN_LIST.format(col="run_id")
    ids = [list(run_ids)]
    # Three narrow fetches beat one wide UNION (fewer NULL cells to convert) and a pivot in
    # SQL with one FILTER aggregate per key (measured: 2x slower at 200 runs x 30 keys).
    # At most one value column is non-NULL: the one of the param's type (none for None).
    for run_id, key, vi, vf, vb, vs in tx.fetchall(
        f"SELECT run_id, key, value_int, value_float, value_bool, value_str FROM params "
        f"WHERE {page}",
        ids,
    ):
        out[run_id]["params." + key] = (
            vi if vi is not None else vf if vf is not None else vb if vb is not None else vs
        )
    for run_id, key, value in tx.fetchall(
        f"SELECT run_id, key, last_value FROM metric_summary WHERE {page}", ids
    ):
        out[run_id]["metrics." + key] = value
    for run_id, key, value in tx.fetchall(f"SELECT run_id, key, value FROM tags WHERE {page}", ids):
        out[run_id]["tags." + key] = value
    return out


def metric_history(
    tx: Tx, run_ids: Sequence[str], keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """Every point of the given runs' metrics (only ``keys`` when given), ordered by run,
    key, step, arrival. Columns: ``run_id``, ``key``, ``step`` (int), ``ts_ms`` (wall
    time of logging, milliseconds since the Unix epoch), ``value`` (float; NaN as logged).
    Empty frame with those columns for no runs or an empty ``keys``."""
    if not run_ids:
        return pd.DataFrame(columns=["run_id", "key", "step", "ts_ms", "value"])
    sql = "SELECT run_id, key, step, ts_ms, value FROM metrics WHERE " + _IN_LIST.format(
        col="run_id"
    )
    params: list = [list(run_ids)]
    if keys is not None:
        if not keys:
            return pd.DataFrame(columns=["run_id", "key", "step", "ts_ms", "value"])
        sql += " AND " + _IN_LIST.format(col="key")
        params.append(list(keys))
    return tx.df(sql + " ORDER BY run_id, key, step, seq", params)


def artifacts_of(tx: Tx, run_id: str) -> list[Artifact]:
    """One run's logged artifacts, ordered by path (empty for an unknown run)."""
    rows = tx.records(
        "SELECT run_id, path, sha256, size_bytes, created_at FROM artifacts WHERE run_id = ? "
        "ORDER BY path",
        [run_id],
    )
    return [Artifact(**row) for row in rows]


def metric_summary_list(tx: Tx, run_id: str) -> list[MetricSummary]:
    """One run's metric summaries, one per key, ordered by key (empty for an unknown run)."""
    rows = tx.records(
        "SELECT key, last_value, last_step, min_value, max_value, n_points FROM metric_summary "
        "WHERE run_id = ? ORDER BY key",
        [run_id],
    )
    return [MetricSummary(**row) for row in rows]
