"""Numbers stay exact in run params and the filter language (issue 14, item 1): integers
compare as integers at any size, floats as floats, an int with a float by exact value (the
rule in app/tracking/query.py), through every door: the service, the SDK, the CLI, the runs table
and
its CSV/JSON, ordering, and an MLflow import."""

from __future__ import annotations

import json
import shutil
import sqlite3
import warnings
from pathlib import Path

import pytest

from tests.conftest import ROOT, make_run
from workbench import sdk as wb
from workbench.cli.main import main
from workbench.store.entities import Condition, OrderBy
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments

LOW, HIGH = 2**60, 2**60 + 1  # one apart, the same double (2.0**60)


@pytest.fixture
def seeds(ws: Workspace) -> Workspace:
    """Runs "low" (seed 2**60), "high" (2**60 + 1), "float" (seed 2.0**60, a float),
    "nan" (seed NaN), "flag" (seed True) and "text" (seed '1152921504606846977', text)."""
    for name, seed in [
        ("low", LOW),
        ("high", HIGH),
        ("float", float(LOW)),
        ("nan", float("nan")),
        ("flag", True),
        ("text", str(HIGH)),
    ]:
        make_run(
            experiment="seeds",
            name=name,
            params={"seed": seed},
            metrics={"m": float(LOW)},
            tags={"t": str(seed)},
        )
    return ws


def found(ws: Workspace, query: str) -> set[str]:
    names = {r.name for r in experiments.search_runs(ws, query=query)}
    assert experiments.count_runs(ws, query=query) == len(names)
    return names


CASES = [
    # the two filters: today both runs, and none
    (f"params.seed = {HIGH}", {"high"}),
    (f"params.seed > {LOW}", {"high"}),
    (f"params.seed = {LOW}", {"low", "float"}),  # 2**60 == 2.0**60, as in Python
    (f"params.seed >= {LOW}", {"low", "high", "float"}),
    (f"params.seed != {HIGH}", {"low", "float", "nan", "flag"}),  # NaN differs from all
    (f"params.seed < {HIGH}", {"low", "float", "flag"}),
    (f"params.seed IN ({HIGH}, 5)", {"high"}),
    (f"params.seed NOT IN ({HIGH})", {"low", "float", "nan", "flag", "text"}),
    # a float literal is a double: 1152921504606846977.0 reads as 2.0**60
    (f"params.seed = {LOW}.0", {"low", "float"}),
    (f"params.seed > {LOW}.0", {"high"}),
    (f"params.seed = {HIGH}.0", {"low", "float"}),
    (f"params.seed IN ({LOW}.0)", {"low", "float"}),
    ("params.seed > 1.1e18", {"low", "high", "float"}),
    # bool is 0/1; NaN is unordered
    ("params.seed = 1", {"flag"}),
    ("params.seed = 1.0", {"flag"}),
    ("params.seed > 0.5 and params.seed < 1.5", {"flag"}),
    # beyond int64 and beyond the doubles: compares, never crashes
    ("params.seed < 99999999999999999999999999999999999999999", {"low", "high", "float", "flag"}),
    ("params.seed > -99999999999999999999999999999999999999999", {"low", "high", "float", "flag"}),
    ("params.seed = 99999999999999999999", set()),
    ("params.seed < 1e400", {"low", "high", "float", "flag"}),  # 1e400 is inf
    # quoted numbers: numeric params by value, text params as text
    (f"params.seed = '{HIGH}'", {"high", "text"}),
    (f"params.seed > '{LOW}'", {"high", "text"}),  # "...977" > "...976" as text too
    ("params.seed < '2'", {"flag", "text"}),  # True < 2 by value; "1152..." < "2" as text
    # metrics are doubles: 2.0**60 equals no integer but 2**60
    (f"metrics.m = {HIGH}", set()),
    (f"metrics.m = {LOW}", {"low", "high", "float", "nan", "flag", "text"}),
    (f"metrics.m < {HIGH}", {"low", "high", "float", "nan", "flag", "text"}),
    ("metrics.m = 99999999999999999999999999999999999999999", set()),
    (f"metrics.m IN ({HIGH}, 1)", set()),
    # tags are text; a number compares with tags that hold one, integers exactly
    (f"tags.t = {HIGH}", {"high", "text"}),
    (f"tags.t > {LOW}", {"high", "text"}),
    (f"tags.t = '{HIGH}'", {"high", "text"}),
]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[c[0] for c in CASES])
def test_numbers_compare_exactly(seeds: Workspace, query: str, expected: set[str]) -> None:
    assert found(seeds, query) == expected


def test_the_same_through_conditions_and_numpy(seeds: Workspace) -> None:
    import numpy as np

    got = experiments.search_runs(seeds, conditions=[Condition("params", "seed", "=", HIGH)])
    assert [r.name for r in got] == ["high"]
    got = experiments.search_runs(
        seeds, conditions=[Condition("params", "seed", ">", np.int64(LOW))]
    )
    assert [r.name for r in got] == ["high"]
    nan = Condition("params", "seed", "=", float("nan"))  # NaN equals nothing, not even NaN
    assert experiments.search_runs(seeds, conditions=[nan]) == []


def test_ordering_by_a_param_is_exact(seeds: Workspace) -> None:
    runs = experiments.search_runs(
        seeds, order_by=[OrderBy("params", "seed", descending=True)], query=f"params.seed >= {LOW}"
    )
    assert runs[0].name == "high"  # above 2**60 and 2.0**60, which tie
    runs = experiments.search_runs(
        seeds, order_by=[OrderBy("params", "seed")], query=f"params.seed >= {LOW}"
    )
    assert runs[-1].name == "high"


def test_sdk_filter_and_table_keep_the_ints(seeds: Workspace) -> None:
    table = wb.search_runs("seeds", f"params.seed = {HIGH}")
    assert table["name"].tolist() == ["high"]
    [value] = table["params.seed"].tolist()
    assert type(value) is int and value == HIGH  # not 1.152921504606847e+18
    table = wb.search_runs(filter_string=f"params.seed >= {LOW} and params.seed < {HIGH}")
    ints = [v for v in table["params.seed"] if type(v) is int]
    assert ints == [LOW]


def test_cli_filter_csv_and_json_keep_the_digits(seeds: Workspace, capsys) -> None:
    assert main(["runs", "list", "--filter", f"params.seed = {HIGH}", "--format", "csv"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert dict(zip(header.split(","), row.split(","), strict=True))["params.seed"] == str(HIGH)
    assert main(["runs", "list", "--filter", f"params.seed > {LOW}", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["name"] == "high" and row["params.seed"] == HIGH


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status = 5", "status is text; quote the value"),
        ("run_name IN (1, 2)", "run_name is text"),
        ("started_at > 'yesterday'", "not a date or time"),
        ("duration > 'long'", "duration is in seconds"),
        ("params.seed LIKE 5", "LIKE matches text with a quoted pattern"),
        ("metrics.m LIKE '1%'", "LIKE matches text"),
        ("params.seed IN (1, 'a')", "mixes numbers and text"),
        ("params.seed = " + "9" * 401, "longer than 400 characters"),
    ],
)
def test_wrong_kinds_are_clear_errors(seeds: Workspace, query: str, message: str) -> None:
    """Before: DuckDB's own Binder/Conversion errors reached the user."""
    with pytest.raises(InvalidInput, match=message):
        experiments.search_runs(seeds, query=query)


def test_times_and_durations(seeds: Workspace) -> None:
    assert len(found(seeds, "started_at > '2000-01-01'")) == 6
    assert found(seeds, "started_at < '2000-01-01T00:00:00+01:00'") == set()
    assert len(found(seeds, "start_time > 946684800000")) == 6  # MLflow's epoch milliseconds
    assert len(found(seeds, "duration >= 0")) == 6


def test_ints_beyond_64_bits_are_refused_at_logging(ws: Workspace) -> None:
    with wb.start_run(experiment="big") as run:
        with pytest.raises(InvalidInput, match="does not fit in 64 bits; log it as a string"):
            run.log_param("seed", 2**64)
        run.log_param("seed", str(2**64))
    assert found(ws, f"params.seed = '{2**64}'") == {run.name}


def test_mlflow_import_keeps_params_exact(ws: Workspace, tmp_path: Path) -> None:
    """MLflow stores params as text: a number is typed only when it prints back the same,
    so 2**60 + 1 stays exact and '007' or a 20-digit decimal stay text."""
    store = tmp_path / "mlflow.db"
    shutil.copy(ROOT / "tests" / "data" / "mlflow.db", store)
    con = sqlite3.connect(store)
    run_ids = [r[0] for r in con.execute("SELECT run_uuid FROM runs ORDER BY run_uuid")]
    extra = {
        "seed": [str(LOW), str(HIGH)],
        "code": ["007", "7"],
        "amount": ["12345678901234567.891", "0.5"],
        "huge": [str(2**64), "1"],
    }
    for key, values in extra.items():
        for run_uuid, value in zip(run_ids, values, strict=False):
            con.execute(
                "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", [key, value, run_uuid]
            )
    con.commit()
    con.close()
    assert main(["import-mlflow", str(store)]) == 0
    [high] = experiments.search_runs(
        ws, query=f"params.seed = {HIGH}", lifecycle="active"
    ) or experiments.search_runs(ws, query=f"params.seed = {HIGH}", lifecycle="deleted")
    params = experiments.get_run(ws, high.run_id).params
    assert params["seed"] == HIGH and type(params["seed"]) is int
    texts = {}
    for lifecycle in ("active", "deleted"):
        for run in experiments.search_runs(ws, lifecycle=lifecycle):
            texts.update(
                {
                    f"{k}@{run.run_id}": v
                    for k, v in experiments.get_run(ws, run.run_id).params.items()
                    if k in ("code", "amount", "huge")
                }
            )
    assert sorted(map(repr, texts.values())) == sorted(
        ["'007'", "7", "'12345678901234567.891'", "0.5", f"'{2**64}'", "1"]
    )


def test_search_runs_warns_only_when_it_cuts(seeds: Workspace) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(wb.search_runs("seeds")) == 6
        assert len(wb.search_runs("seeds", max_results=6)) == 6
    with pytest.warns(UserWarning, match="showing 2 of 6 runs"):
        assert len(wb.search_runs("seeds", max_results=2)) == 2
    with pytest.raises(InvalidInput, match="filter_string must be a string"):
        wb.search_runs("seeds", 10)


def test_event_log_keeps_ints_exact_and_survives_a_hand_edited_one(ws: Workspace) -> None:
    """Params travel through the run's JSON event log: JSON keeps every digit. An int past
    64 bits that only a hand edit can put there is kept as its text instead of stalling the
    whole ingestion (before: OverflowError from Arrow)."""
    run = wb.start_run(experiment="log")
    run.log_param("seed", HIGH)
    run._log.append({"type": "params", "values": {"huge": 2**64, "listed": [1, 2]}})
    run.end()
    assert experiments.get_run(ws, run.run_id).params == {
        "seed": HIGH,
        "huge": str(2**64),
        "listed": "[1, 2]",
    }
    assert found(ws, f"params.seed = {HIGH}") == {run.name}
