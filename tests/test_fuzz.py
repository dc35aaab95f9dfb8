"""Issue #16, must show: arbitrary text fed to the filter parser (and the query it becomes,
run on a real workspace), to every name check, and arbitrary JSON to the scoring
endpoint (a real server) finds only InvalidInput or HTTP 400, never another exception or
a 500. Hypothesis, derandomized so a CI run is repeatable; every example is real input.

"Arbitrary text" includes lone surrogates (U+D800 to U+DFFF), which Hypothesis' default
``text()`` leaves out: JSON's "\\ud800" escape makes one, and so does a byte that is not
UTF-8 in a command-line argument or a file name. The scoring endpoint answered them 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_run
from tests.test_scoring_types import launched_model, post, served, visits
from workbench import validation
from workbench.registry import models as registry
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.team import auth
from workbench.tracking import experiments, query

# Lone surrogates, drawn often enough to matter: ``characters(codec=None)`` allows them but
# draws one in a few hundred characters.
LONE_SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udcff", "\udfff"])


def any_text(max_size: int) -> st.SearchStrategy[str]:
    """Any Python text up to ``max_size`` characters: Hypothesis' default, every code
    point (``codec=None``), and text thick with lone surrogates."""
    return st.one_of(
        st.text(max_size=max_size),
        st.text(st.characters(codec=None), max_size=max_size),
        st.lists(st.one_of(st.characters(codec=None), LONE_SURROGATES), max_size=max_size).map(
            "".join
        ),
    )


FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Text that looks like filters: their words and symbols, then anything at all.
FILTER_WORDS = st.sampled_from(
    [
        "metrics.auc",
        "params.depth",
        "tags.owner",
        "attributes.status",
        "status",
        "run_id",
        "and",
        "or",
        "AND",
        "OR",
        "not",
        "IN",
        "IS",
        "NULL",
        "LIKE",
        "ILIKE",
        "=",
        "!=",
        ">",
        ">=",
        "<",
        "<=",
        "(",
        ")",
        ",",
        "'ana'",
        '"x"',
        "0.9",
        "-1e308",
        "1e400",
        "'",
        "`",
        "params.`a b`",
        "metrics.",
        ".",
        "%",
        ";",
        "--",
        "/*",
        "\\",
        "\x00",
        "é",
        "\u202e",
        "'\ud800'",
        "tags.`\udcff`",
    ]
)
FILTERS = st.one_of(
    st.lists(FILTER_WORDS, max_size=40).map(" ".join),
    any_text(300),
    st.integers(0, 3000).map(lambda n: "(" * n + "metrics.a > 1" + ")" * n),
)


@pytest.fixture
def few_runs(ws: Workspace) -> Workspace:
    """A real workspace with three runs (one per test function: Hypothesis runs all of a
    test's examples within one call of it)."""
    for i in range(3):
        make_run(
            experiment="churn",
            name=f"rf-{i}",
            params={"depth": i, "a b": "x"},
            metrics={"auc": 0.5 + i / 10},
            tags={"owner": "ana"},
        )
    return ws


@FUZZ
@given(text=FILTERS)
def test_any_filter_text_is_a_query_or_invalid_input(few_runs: Workspace, text: str) -> None:
    try:
        query.parse(text)
        experiments.runs_table(few_runs, query=text, limit=10)
        experiments.count_runs(few_runs, query=text)
    except InvalidInput:
        pass


NAME_CHECKS = [
    lambda t: validation.check_name(t, "Run"),
    validation.check_dataset_name,
    lambda t: validation.check_dataset_name(t, "Model"),
    registry.check_alias,
    validation.check_artifact_name,
    lambda t: validation.check_key(t, "Param"),
    auth.check_account_name,
    registry.parse_ref,
]


@FUZZ
@given(text=any_text(300), which=st.integers(0, len(NAME_CHECKS) - 1))
def test_every_name_check_returns_a_name_or_invalid_input(text: str, which: int) -> None:
    try:
        out = NAME_CHECKS[which](text)
    except InvalidInput:
        return
    shown = out if isinstance(out, str) else out[0]
    assert not any(validation._invisible(c) for c in shown), (text, out)


# JSON of any shape, and rows of the model's columns with values of any shape.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text(20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(any_text(8), inner, max_size=4)
    ),
    max_leaves=20,
)
ROWS = st.lists(
    st.fixed_dictionaries(
        {"age": VALUES, "plan": VALUES, "seen": VALUES},
        optional={"": VALUES, "\ud800": VALUES, "pl\udcffan": VALUES},
    ),
    min_size=1,
    max_size=3,
)
BODIES = st.one_of(
    VALUES,
    ROWS.map(lambda rows: {"rows": rows}),
    st.dictionaries(
        st.sampled_from(["rows", "dataframe_split", "inputs", "instances", "columns"]), VALUES
    ),
)


@pytest.fixture
def scoring_url(ws: Workspace):
    """A real server (uvicorn) scoring a real model."""
    launched_model(ws, visits(), "churned", "visits")
    with served(ws, "visits") as url:
        yield url


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=BODIES)
def test_any_json_to_the_scoring_endpoint_is_answered_or_refused(
    scoring_url: str, body: object
) -> None:
    status, answer, _ = post(scoring_url + "/predict", json.dumps(body).encode())
    assert status in (200, 400, 413), (status, answer, body)
    assert ("predictions" in answer) if status == 200 else ("error" in answer)
