"""Runs search: conditions and ordering compile to parameterized SQL over real data."""

from __future__ import annotations

import pytest

from app import experiments
from store.entities import Condition, OrderBy
from store.errors import InvalidInput
from store.workspace import Workspace
from tests.conftest import make_run


@pytest.fixture
def runs(ws: Workspace) -> dict[str, str]:
    spec = {
        "a": ({"depth": 3, "kernel": "rbf"}, {"auc": 0.7, "loss": 0.3}, {"owner": "ana"}),
        "b": ({"depth": 8, "kernel": "linear"}, {"auc": 0.9, "loss": 0.2}, {"owner": "bo"}),
        "c": ({"depth": 8, "kernel": "rbf"}, {"auc": 0.8, "loss": 0.1}, {"owner": "ana"}),
        "d": ({"depth": 3.5}, {"loss": 0.4}, {}),
    }
    return {name: make_run(name=name, params=p, metrics=m, tags=t)
            for name, (p, m, t) in spec.items()}  # fmt: skip


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
        ([Condition("tags", "owner", "IS NOT NULL"), Condition("params", "depth", ">=", 8)],
         {"b", "c"}),
        ([Condition("attributes", "name", "LIKE", "%b%")], {"b"}),
        ([Condition("params", "kernel", "=", "rbf' OR '1'='1")], set()),  # a value, not SQL
    ],
)  # fmt: skip
def test_conditions(ws: Workspace, runs, conditions, expected) -> None:
    assert set(names(ws, conditions)) == expected


def test_order_by_two_keyed_fields(ws: Workspace, runs) -> None:
    """Each sort key binds to its own join (two joins, two parameters, in order)."""
    order = [OrderBy("params", "depth", descending=True), OrderBy("metrics", "loss")]
    assert names(ws, order_by=order) == ["c", "b", "d", "a"]
    order = [OrderBy("tags", "owner"), OrderBy("metrics", "auc", descending=True)]
    assert names(ws, order_by=order) == ["c", "a", "b", "d"]


def test_order_combined_with_conditions(ws: Workspace, runs) -> None:
    got = names(ws, [Condition("params", "kernel", "=", "rbf")],
                [OrderBy("metrics", "auc", descending=True)])  # fmt: skip
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
