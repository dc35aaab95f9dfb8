"""Runs search: conditions and ordering compile to parameterized SQL over real data."""

from __future__ import annotations

import pytest

from tests.conftest import make_run, notes
from workbench.store.entities import Condition, OrderBy
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments


@pytest.fixture
def runs(ws: Workspace) -> dict[str, str]:
    spec = {
        "a": ({"depth": 3, "kernel": "rbf"}, {"auc": 0.7, "loss": 0.3}, {"owner": "ana"}),
        "b": ({"depth": 8, "kernel": "linear"}, {"auc": 0.9, "loss": 0.2}, {"owner": "bo"}),
        "c": ({"depth": 8, "kernel": "rbf"}, {"auc": 0.8, "loss": 0.1}, {"owner": "ana"}),
        "d": ({"depth": 3.5}, {"loss": 0.4}, {}),
    }
    return {
        name: make_run(name=name, params=p, metrics=m, tags=t) for name, (p, m, t) in spec.items()
    }


def names(ws: Workspace, conditions=(), order_by=()) -> list[str]:
    found = experiments.search_runs(ws, conditions=conditions, order_by=order_by)
    return [r.name for r in found]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([Condition("metrics", "auc", ">", 0.75)], {"b", "c"}),
        ([Condition("params", "depth", "=", 8)], {"b", "c"}),
        ([Condition("params", "depth", "<", 4)], {"a", "d"}),  # int and float compare
        ([Condition("params", "kernel", "=", "rbf")], {"a", "c"}),
        ([Condition("tags", "owner", "!=", "ana")], {"b"}),
        ([Condition("metrics", "auc", "IS NULL")], {"d"}),
        (
            [Condition("tags", "owner", "IS NOT NULL"), Condition("params", "depth", ">=", 8)],
            {"b", "c"},
        ),
        ([Condition("attributes", "name", "LIKE", "%b%")], {"b"}),
        ([Condition("params", "kernel", "=", "rbf' OR '1'='1")], set()),  # a value, not SQL
    ],
)
def test_conditions(ws: Workspace, runs, conditions, expected) -> None:
    assert set(names(ws, conditions)) == expected


def test_order_by_two_keyed_fields(ws: Workspace, runs) -> None:
    """Each sort key binds to its own join (two joins, two parameters, in order)."""
    order = [OrderBy("params", "depth", descending=True), OrderBy("metrics", "loss")]
    assert names(ws, order_by=order) == ["c", "b", "d", "a"]
    order = [OrderBy("tags", "owner"), OrderBy("metrics", "auc", descending=True)]
    assert names(ws, order_by=order) == ["c", "a", "b", "d"]


def test_order_combined_with_conditions(ws: Workspace, runs) -> None:
    got = names(
        ws,
        [Condition("params", "kernel", "=", "rbf")],
        [OrderBy("metrics", "auc", descending=True)],
    )
    assert got == ["c", "a"]


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (Condition("metrics", "auc", "DROP", 1), "Unknown comparison 'DROP'"),
        (Condition("params; --", "x", "=", 1), "Unknown field 'params; --'"),
        (Condition("attributes", "password", "=", 1), "Unknown run attribute 'password'"),
        (Condition("metrics", "auc", ">", "high"), "metrics compare with numbers"),
    ],
)
def test_bad_conditions_name_the_bad_part(ws: Workspace, condition, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        names(ws, [condition])


# -- nothing is cut off in silence (issue 14, item 8) -----------------------------------


def many_runs(ws: Workspace, n: int = 1005, experiment: str = "many") -> None:
    """``n`` finished runs in ``experiment``, written in one transaction through the store
    (as an MLflow import does): a second or two where the SDK would take minutes."""
    import uuid
    from datetime import timedelta

    from workbench.store import tracking
    from workbench.store.entities import Run, utcnow
    from workbench.tracking.experiments import create_run

    first, exp = create_run(ws, experiment=experiment, name="run-0", user="tester")
    start = utcnow()

    def work(tx) -> None:
        tracking.finish_run(tx, first.run_id, "finished", None, start)
        for i in range(1, n):
            when = start + timedelta(seconds=i)
            tracking.insert_run(
                tx,
                Run(
                    uuid.uuid4().hex,
                    exp.experiment_id,
                    f"run-{i}",
                    "finished",
                    "sdk",
                    None,
                    "tester",
                    None,
                    None,
                    when,
                    when,
                    None,
                    "active",
                ),
            )

    ws.store.write(work)


def test_search_runs_returns_all_1005_runs(ws: Workspace) -> None:
    import warnings

    from workbench import sdk as wb

    many_runs(ws)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no limit, no warning
        table = wb.search_runs("many")
    assert len(table) == 1005 and table["name"].nunique() == 1005  # was 1,000, in silence
    assert len(experiments.search_runs(ws)) == 1005  # the service's default was 100
    assert len(experiments.runs_table(ws)) == 1005
    with pytest.warns(UserWarning, match="showing 10 of 1,005 runs"):
        assert len(wb.search_runs("many", max_results=10)) == 10


def test_runs_list_says_what_it_left_out(ws: Workspace, capsys) -> None:
    import json

    from workbench.cli.main import main

    many_runs(ws)
    assert main(["runs", "list", "--experiment", "many", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 51  # header + 50; stdout stays clean CSV
    assert "showing 50 of 1,005 runs" in err and "--all" in err and "--limit N" in err
    assert main(["runs", "list", "--all", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 1005 and notes(err) == []
    assert main(["runs", "list", "--limit", "2000"]) == 0
    assert notes(capsys.readouterr().err) == []
    assert main(["runs", "list", "--filter", "run_name LIKE 'run-1%'", "--limit", "3"]) == 0
    assert "showing 3 of 116 runs" in capsys.readouterr().err  # 1, 10-19, 100-199, 1000-1004


def test_lists_in_messages_say_how_many_more(ws: Workspace) -> None:
    from workbench.store.errors import NotFound
    from workbench.tracking.experiments import create_run, get_experiment_by_name

    for i in range(12):
        create_run(ws, experiment=f"exp-{i:02}", name="r", user="tester")
    with pytest.raises(NotFound, match=r"exp-\d\d and 2 more\."):
        get_experiment_by_name(ws, "nope")


def test_nan_sorts_last_both_ways(ws: Workspace) -> None:
    """A diverged run (NaN) is not the best one: it sorts after every number, either way."""
    for name, auc in [("good", 0.9), ("diverged", float("nan")), ("poor", 0.5)]:
        make_run(name=name, params={"lr": auc}, metrics={"auc": auc})
    make_run(name="none")
    for field, key in [("metrics", "auc"), ("params", "lr")]:
        best_first = names(ws, order_by=[OrderBy(field, key, descending=True)])
        assert best_first[:2] == ["good", "poor"] and set(best_first[2:]) == {"diverged", "none"}
        worst_first = names(ws, order_by=[OrderBy(field, key)])
        assert worst_first[:2] == ["poor", "good"] and set(worst_first[2:]) == {"diverged", "none"}
