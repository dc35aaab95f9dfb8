"""The runs filter language against a table of cases, on real runs in a real workspace."""

from __future__ import annotations

import pytest

from tests.conftest import make_run
from workbench.store.entities import Condition, Where
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.tracking.query import parse


@pytest.fixture
def runs(ws: Workspace) -> Workspace:
    spec = {
        "a": ({"max_depth": 3, "kernel": "rbf"}, {"auc": 0.7}, {"owner": "ana"}),
        "b": ({"max_depth": 8, "kernel": "linear"}, {"auc": 0.95}, {"owner": "bo"}),
        "c": ({"max_depth": 8, "kernel": "rbf"}, {"auc": 0.91}, {"owner": "ana", "note": "x"}),
        "d": ({"max_depth": 3.5, "kernel": "it's"}, {"loss": 0.4}, {"owner": "o'neil"}),
    }
    for name, (p, m, t) in spec.items():
        make_run(name=name, params=p, metrics=m, tags=t, fail=name == "d")
    return ws


CASES = [
    # MLflow's filter strings, as they are
    ("metrics.auc > 0.9 and params.max_depth = 8 and tags.owner = 'ana'", {"c"}),
    ("metrics.auc > 0.9", {"b", "c"}),
    ("params.max_depth = '8'", {"b", "c"}),  # MLflow quotes params: numbers still compare
    ("params.max_depth < 4", {"a", "d"}),  # int and float params, numerically
    ("tags.owner != 'ana'", {"b", "d"}),
    ("attributes.status = 'failed'", {"d"}),
    ("attributes.run_name LIKE 'a%'", {"a"}),
    ("tags.owner ILIKE 'ANA'", {"a", "c"}),
    # beyond MLflow: OR, parentheses, IS NULL, IN
    ("metrics.auc < 0.8 or tags.owner = 'bo'", {"a", "b"}),
    ("(params.kernel = 'rbf' or params.kernel = 'linear') and metrics.auc >= 0.9", {"b", "c"}),
    ("params.kernel = 'rbf' AND (metrics.auc > 0.9 OR tags.owner = 'nobody')", {"c"}),
    ("metrics.auc IS NULL", {"d"}),
    ("tags.note IS NOT NULL", {"c"}),
    ("status IN ('failed', 'lost')", {"d"}),
    ("params.max_depth IN (3, 8)", {"a", "b", "c"}),
    ("tags.owner NOT IN ('ana')", {"b", "d"}),
    # quotes inside strings: doubled or escaped
    ("tags.owner = 'o''neil'", {"d"}),
    ('params.kernel = "it\'s"', {"d"}),
    ("tags.owner = 'o\\'neil'", {"d"}),
    # injection attempts are values, never SQL
    ("tags.owner = 'ana'' OR 1=1 --'", set()),
    ("tags.owner = 'x\"; DROP TABLE runs; --'", set()),
    ("", {"a", "b", "c", "d"}),
]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[c[0] or "(blank)" for c in CASES])
def test_filter(runs: Workspace, query: str, expected: set[str]) -> None:
    found = experiments.search_runs(runs, query=query)
    assert {r.name for r in found} == expected
    assert experiments.count_runs(runs, query=query) == len(expected)


ERRORS = [
    ("metrics.auc > 0.9; DROP TABLE runs", "Unexpected ';' at position 18"),
    ("metrics.aucc > 0.9", "Unknown key metrics.aucc; did you mean metrics.auc?"),
    ("params.nope = 1", "Unknown key params.nope"),
    ("foo.bar = 1", "Unknown field 'foo.bar'"),
    ("attributes.colour = 'red'", "Unknown attribute 'colour'"),
    ("metrics.auc > ", "ends early; expected a value"),
    ("metrics.auc 0.9", "Expected a comparison"),
    ("tags.owner = ana", "Expected a number or a quoted string at position 14, found 'ana'"),
    ("(metrics.auc > 0.9", "ends early; expected ')'"),
    ("metrics.auc > 0.9 tags.owner = 'a'", "Unexpected 'tags.owner' at position 19"),
    ("metrics.auc > 'high'", "metrics compare with numbers"),
    # a newcomer's find: an unclosed quote was told "strings go in quotes"
    ("tags.owner = 'unterminated", "The ' at position 14 of the filter"),
    ("tags.owner = 'ana", "is never closed; end the value with ', e.g. tags.owner = 'ana'"),
    # NaN was told to be quoted, then "metrics compare with numbers": no way through
    ("metrics.auc = NaN", "no filter selects it (as in Python): sort by the metric instead"),
    ("metrics.auc < Infinity", "infinity is a number, write it 1e400 or -1e400"),
    # status = 'bogus' returned no runs, silently
    ("status = 'bogus'", "status 'bogus' is not a status a run can have; use one of queued,"),
    ("kind IN ('run', 'trail')", "kind 'trail' is not a kind a run can have"),
    ("metrics.auc IS 5", "Expected NULL after IS"),
    ("status NOT = 'x'", "Expected IN after NOT"),
    # a newcomer's finds: an empty list, and punctuation where a value goes, were told to
    # "quote text values, e.g. ')'"
    ("params.max_depth IN ()", "IN () at position 21 is empty; list at least one value"),
    ("metrics.auc > )", "found ')'."),
]


@pytest.mark.parametrize(("query", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_filters_name_the_token(runs: Workspace, query: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        experiments.search_runs(runs, query=query)
    assert message in str(info.value)


def test_mlflows_status_names_are_read_as_ours(runs: Workspace) -> None:
    """A user from MLflow writes status = 'FINISHED' (and 'SCHEDULED' for a queued run)."""
    finished = {r.name for r in experiments.search_runs(runs, query="status = 'finished'")}
    assert finished and finished == {
        r.name for r in experiments.search_runs(runs, query="status = 'FINISHED'")
    }
    assert experiments.search_runs(runs, query="status IN ('SCHEDULED', 'RUNNING')") == []
    assert len(experiments.search_runs(runs, query="status != 'SCHEDULED'")) == len(
        experiments.search_runs(runs)
    )


def test_the_tables_survive_an_injection_attempt(runs: Workspace) -> None:
    experiments.search_runs(runs, query="tags.owner = 'x''); DROP TABLE runs; --'")
    assert len(experiments.search_runs(runs)) == 4


def test_parse_tree_shape() -> None:
    tree = parse("metrics.a > 1 and (tags.b = 'x' or params.c IS NULL)")
    assert tree == Where(
        "AND",
        (
            Condition("metrics", "a", ">", 1),
            Where("OR", (Condition("tags", "b", "=", "x"), Condition("params", "c", "IS NULL"))),
        ),
    )
    assert parse("metrics.`val auc` >= 0.5") == Condition("metrics", "val auc", ">=", 0.5)
