"""SQL for experiments, runs, params, metrics, tags and artifacts (writing a run's logged
events is :mod:`store.ingestion`).

Functions take an open :class:`~store.gateway.Tx` so a service can put several of them in
one unit of work. Every value reaches SQL as a bound parameter; the only names spliced into
SQL text come from the fixed tables below, never from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from store.entities import (
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
from store.errors import InvalidInput, NotFound
from store.gateway import Tx

_RUN_COLS = (
    "run_id, experiment_id, name, status, source, parent_run_id, created_by, host, pid, "
    "started_at, ended_at, error, lifecycle"
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
    "duration": "epoch(coalesce(r.ended_at, now()::TIMESTAMP) - r.started_at)",
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
    tx.execute(
        f"INSERT INTO experiments ({_EXP_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
        [exp.experiment_id, exp.name, exp.description, exp.lifecycle, exp.created_at,
         exp.created_by],
    )  # fmt: skip


def find_experiment(tx: Tx, name: str) -> Experiment | None:
    row = tx.fetchone(f"SELECT {_EXP_COLS} FROM experiments WHERE name = ?", [name])
    return Experiment(*row) if row else None


def get_experiment(tx: Tx, experiment_id: str) -> Experiment:
    row = tx.fetchone(f"SELECT {_EXP_COLS} FROM experiments WHERE experiment_id = ?",
                      [experiment_id])  # fmt: skip
    if row is None:
        raise NotFound(f"Experiment {experiment_id!r} not found.")
    return Experiment(*row)


def experiment_names(tx: Tx) -> dict[str, str]:
    """experiment_id -> name, every experiment (cheap: for labelling runs)."""
    return dict(tx.fetchall("SELECT experiment_id, name FROM experiments"))


def list_experiments(tx: Tx) -> list[ExperimentSummary]:
    rows = tx.fetchall(
        f"""SELECT {", ".join("e." + c.strip() for c in _EXP_COLS.split(","))},
                   count(r.run_id), count(r.run_id) FILTER (WHERE r.status = 'running'),
                   max(r.started_at)
            FROM experiments e
            LEFT JOIN runs r ON r.experiment_id = e.experiment_id AND r.lifecycle = 'active'
            WHERE e.lifecycle = 'active'
            GROUP BY ALL ORDER BY max(r.started_at) DESC NULLS LAST, e.name"""
    )
    return [ExperimentSummary(Experiment(*row[:6]), row[6], row[7], row[8]) for row in rows]


# -- runs -------------------------------------------------------------------------------


def insert_run(tx: Tx, run: Run) -> None:
    tx.execute(
        f"INSERT INTO runs ({_RUN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run.run_id, run.experiment_id, run.name, run.status, run.source, run.parent_run_id,
         run.created_by, run.host, run.pid, run.started_at, run.ended_at, run.error,
         run.lifecycle],
    )  # fmt: skip
    tx.execute("INSERT INTO run_ingest (run_id) VALUES (?)", [run.run_id])


def get_run(tx: Tx, run_id: str) -> Run:
    row = tx.fetchone(f"SELECT {_RUN_COLS} FROM runs WHERE run_id = ?", [run_id])
    if row is None:
        raise NotFound(f"Run {run_id!r} not found; `workbench runs list` shows the runs.")
    return Run(*row)


def finish_run(tx: Tx, run_id: str, status: str, error: str | None, ended_at: datetime) -> None:
    tx.execute(
        "UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE run_id = ? "
        "AND status = 'running'",
        [status, error, ended_at, run_id],
    )


def running_runs(tx: Tx) -> list[Run]:
    rows = tx.fetchall(f"SELECT {_RUN_COLS} FROM runs WHERE status = 'running'")
    return [Run(*row) for row in rows]


def search_runs(
    tx: Tx,
    *,
    experiment_ids: Sequence[str] | None = None,
    conditions: Sequence[Condition] = (),
    order_by: Sequence[OrderBy] = (),
    limit: int = 100,
    offset: int = 0,
    lifecycle: str = "active",
    where_filter: Filter | None = None,
) -> list[Run]:
    """Runs matching every condition (and ``where_filter``, a tree with OR), ordered, one
    page. Default order: newest first."""
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
    rows = tx.fetchall(sql, [*join_params, *params, int(limit), int(offset)])
    return [Run(*row) for row in rows]


def count_matching(tx: Tx, *, experiment_ids: Sequence[str] | None = None,
                   conditions: Sequence[Condition] = (), lifecycle: str = "active",
                   where_filter: Filter | None = None) -> int:  # fmt: skip
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
    parts = [f"SELECT DISTINCT '{kind}', key FROM {table} {scope}"
             for kind, table in (("metrics", "metric_summary"), ("params", "params"),
                                 ("tags", "tags"))]  # fmt: skip
    for kind, key in tx.fetchall(" UNION ALL ".join(parts) + " ORDER BY 1, 2", params * 3):
        keys[kind].append(key)
    return keys


def count_runs(tx: Tx) -> dict[str, int]:
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
    """SQL and parameters for one condition. Raises :class:`InvalidInput` for unknown parts."""
    op = cond.op.upper().strip()
    if op not in COMPARISONS:
        raise InvalidInput(f"Unknown comparison {cond.op!r}; use one of {', '.join(COMPARISONS)}.")
    op = "!=" if op == "<>" else op
    null_test = op in ("IS NULL", "IS NOT NULL")
    if cond.field == "attributes":
        col = RUN_ATTRIBUTES.get(cond.key)
        if col is None:
            raise InvalidInput(
                f"Unknown run attribute {cond.key!r}; known: {', '.join(sorted(RUN_ATTRIBUTES))}."
            )
        if op in ("IN", "NOT IN"):
            return f"{col} {op} (SELECT unnest(?))", [[str(v) for v in _values(cond)]]
        return (f"{col} {op}", []) if null_test else (f"{col} {op} ?", [cond.value])
    if op in ("IN", "NOT IN"):
        values = _values(cond)
        numeric = all(_is_number(v) for v in values)
        probe = Condition(cond.field, cond.key, "=", values[0] if numeric else str(values[0]))
        table, value_expr = _keyed_value(probe)
        exists = (f"EXISTS (SELECT 1 FROM {table} x WHERE x.run_id = r.run_id AND x.key = ? "
                  f"AND {value_expr} IN (SELECT unnest(?)))")  # fmt: skip
        cast = [float(v) for v in values] if numeric else [str(v) for v in values]
        return (f"NOT {exists}" if op == "NOT IN" else exists), [cond.key, cast]
    table, value_expr = _keyed_value(cond)
    exists = f"EXISTS (SELECT 1 FROM {table} x WHERE x.run_id = r.run_id AND x.key = ?"
    if op == "IS NULL":
        return f"NOT {exists})", [cond.key]
    if op == "IS NOT NULL":
        return f"{exists})", [cond.key]
    return f"{exists} AND {value_expr} {op} ?)", [cond.key, cond.value]


def _values(cond: Condition) -> tuple:
    values = cond.value if isinstance(cond.value, tuple | list) else (cond.value,)
    if not values:
        raise InvalidInput(f"IN needs at least one value for {cond.field}.{cond.key}.")
    return tuple(values)


def _keyed_value(cond: Condition) -> tuple[str, str]:
    if cond.field == "metrics":
        if not _is_number(cond.value) and cond.op.upper() not in ("IS NULL", "IS NOT NULL"):
            raise InvalidInput(
                f"metrics.{cond.key} is compared with {cond.value!r}; metrics compare with numbers."
            )
        return "metric_summary", "x.last_value"
    if cond.field == "params":
        if _is_number(cond.value):
            return "params", "coalesce(x.value_int::DOUBLE, x.value_float, x.value_bool::DOUBLE)"
        return "params", "coalesce(x.value_str, x.value_int::VARCHAR, x.value_float::VARCHAR, " \
            "x.value_bool::VARCHAR)"  # fmt: skip
    if cond.field == "tags":
        return "tags", "x.value"
    raise InvalidInput(f"Unknown field {cond.field!r}; use metrics, params, tags or attributes.")


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
    join = (f"LEFT JOIN {tables[ob.field]} {alias} "
            f"ON {alias}.run_id = r.run_id AND {alias}.key = ?")  # fmt: skip
    if ob.field == "metrics":
        return [f"{alias}.last_value"], join, [ob.key]
    if ob.field == "params":  # numbers by value, then text
        return [f"coalesce({alias}.value_int::DOUBLE, {alias}.value_float)",
                f"{alias}.value_str"], join, [ob.key]  # fmt: skip
    return [f"{alias}.value"], join, [ob.key]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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


def decode_param(kind: str, vi: int | None, vf: float | None, vb: bool | None,
                 vs: str | None) -> ParamValue:  # fmt: skip
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
        f"WHERE {page}", ids,
    ):  # fmt: skip
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


def metric_history(tx: Tx, run_ids: Sequence[str], keys: Sequence[str] | None = None
                   ) -> pd.DataFrame:  # fmt: skip
    """Every point of the given runs' metrics, ordered by run, key, step, arrival."""
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
    rows = tx.fetchall(
        "SELECT run_id, path, sha256, size_bytes, created_at FROM artifacts WHERE run_id = ? "
        "ORDER BY path",
        [run_id],
    )
    return [Artifact(*row) for row in rows]


def metric_summary_list(tx: Tx, run_id: str) -> list[MetricSummary]:
    rows = tx.fetchall(
        "SELECT key, last_value, last_step, min_value, max_value, n_points FROM metric_summary "
        "WHERE run_id = ? ORDER BY key",
        [run_id],
    )
    return [MetricSummary(*row) for row in rows]
