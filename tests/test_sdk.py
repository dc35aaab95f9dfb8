"""The notebook SDK end to end on a real workspace."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_run
from workbench import sdk as wb
from workbench.store import audit
from workbench.store.blobs import file_sha256
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.workspace import Workspace
from workbench.tracking import experiments, fluent


def test_issue_example_logs_everything(ws: Workspace, tmp_path: Path) -> None:
    artifact = tmp_path / "confusion.csv"
    artifact.write_text("tp,fp\n10,2\n")
    with wb.start_run(experiment="churn", name="rf-baseline") as run:
        run.log_params({"n_estimators": 200, "max_depth": 8})
        for step in range(50):
            run.log_metrics({"loss": 1 / (step + 1), "auc": 0.5 + step / 100}, step=step)
        run.set_tags({"owner": "ana"})
        sha = run.log_artifact(artifact)

    detail = wb.get_run(run.run_id)
    assert detail.run.status == "finished" and detail.run.ended_at is not None
    ended = ws.store.read(lambda tx: audit.search(tx, action="run.ended"))
    assert ended[["actor", "object_id"]].values.tolist() == [["tester", run.run_id]]
    assert detail.experiment_name == "churn" and detail.run.name == "rf-baseline"
    assert detail.params == {"n_estimators": 200, "max_depth": 8}
    assert detail.tags == {"owner": "ana"}
    assert detail.metrics["auc"].last_value == pytest.approx(0.99)
    assert detail.metrics["loss"].n_points == 50 and detail.metrics["loss"].last_step == 49
    [art] = detail.artifacts
    assert (art.path, art.sha256, art.size_bytes) == ("confusion.csv", sha, artifact.stat().st_size)
    assert file_sha256(ws.blobs.verified_path(sha)) == sha
    history = experiments.metric_history(ws, [run.run_id], ["loss"])
    assert history["step"].tolist() == list(range(50))


def test_exception_inside_with_marks_run_failed_with_error_text(ws: Workspace) -> None:
    with pytest.raises(ZeroDivisionError), wb.start_run(experiment="e") as run:
        run.log_metric("x", 1.0)
        1 / 0  # noqa: B018
    detail = wb.get_run(run.run_id)
    assert detail.run.status == "failed"
    assert detail.run.error == "ZeroDivisionError: division by zero"
    assert detail.metrics["x"].last_value == 1.0  # what was logged before is kept


def test_module_level_api_uses_the_active_run(ws: Workspace) -> None:
    run = wb.start_run(experiment="e", name="mod")
    wb.log_param("lr", 0.01)
    wb.log_metric("loss", 0.5)
    wb.log_metric("loss", 0.25)  # no step: one past the last
    wb.set_tag("stage", "dev")
    assert wb.active_run() is run
    wb.end_run()
    assert wb.active_run() is None
    detail = wb.get_run(run.run_id)
    assert detail.params == {"lr": 0.01} and detail.tags == {"stage": "dev"}
    assert detail.metrics["loss"].last_step == 1 and detail.metrics["loss"].last_value == 0.25


def test_latest_metric_is_highest_step_not_last_logged(ws: Workspace) -> None:
    run_id = make_run()
    with wb.start_run(experiment="e") as run:
        run.log_metric("m", 3.0, step=5)
        run.log_metric("m", 1.0, step=2)  # late arrival for an earlier step
    assert wb.get_run(run.run_id).metrics["m"].last_value == 3.0
    assert run_id != run.run_id


def test_runs_table_pivots_params_metrics_tags(ws: Workspace) -> None:
    a = make_run(
        experiment="e",
        name="a",
        params={"depth": 3},
        metrics={"auc": [0.5, 0.7]},
        tags={"owner": "ana"},
    )
    b = make_run(experiment="e", name="b", params={"depth": 5, "kernel": "rbf"})
    table = wb.search_runs("e")
    assert table["run_id"].tolist() == [b, a]  # newest first
    row_a = table.set_index("run_id").loc[a]
    assert row_a["params.depth"] == 3 and row_a["metrics.auc"] == 0.7
    assert row_a["tags.owner"] == "ana" and row_a["status"] == "finished"
    assert table.set_index("run_id").loc[b, "params.kernel"] == "rbf"


PARAM_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=200),
)
KEYS = st.from_regex(r"[\w\-./:]([\w\-./: ]{0,30}[\w\-./:])?", fullmatch=True)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.dictionaries(KEYS, PARAM_VALUES, min_size=1, max_size=8))
def test_params_round_trip_with_their_types(ws: Workspace, params: dict) -> None:
    with wb.start_run(experiment="hypothesis") as run:
        run.log_params(params)
    got = wb.get_run(run.run_id).params
    assert got.keys() == params.keys()
    for key, value in params.items():
        assert type(got[key]) is type(value), key
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(got[key])
        else:
            assert got[key] == value


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=20))
def test_metric_values_round_trip_nan_and_inf_included(ws: Workspace, values: list) -> None:
    with wb.start_run(experiment="hypothesis") as run:
        for step, v in enumerate(values):
            run.log_metric("m", v, step=step)
    history = experiments.metric_history(ws, [run.run_id])
    got = history["value"].tolist()
    assert len(got) == len(values)
    for g, v in zip(got, values, strict=True):
        assert (math.isnan(g) and math.isnan(v)) or g == v
    summary = wb.get_run(run.run_id).metrics["m"]
    finite = [v for v in values if math.isfinite(v)]
    assert summary.min_value == (min(finite) if finite else None)
    assert summary.max_value == (max(finite) if finite else None)


def test_unicode_and_sql_metacharacters_in_values_are_stored_verbatim(ws: Workspace) -> None:
    nasty = "'; DROP TABLE runs; -- \" \\ ✓ 日本"
    with wb.start_run(experiment=f"exp {nasty}", name=nasty) as run:
        run.log_param("p", nasty)
        run.set_tag("t", nasty)
    detail = wb.get_run(run.run_id)
    assert detail.run.name == nasty and detail.experiment_name == f"exp {nasty}"
    assert detail.params["p"] == nasty and detail.tags["t"] == nasty


def test_runs_table_keeps_every_param_type(ws: Workspace) -> None:
    logged = {
        "i": 7,
        "big": 2**62,
        "f": 0.25,
        "whole": 3.0,
        "nan": float("nan"),
        "inf": float("-inf"),
        "yes": True,
        "none": None,
        "s": 'say "hi"; --',
        "u": "日本",
    }
    with wb.start_run(experiment="types") as run:
        run.log_params(logged)
        run.log_metrics({"m": float("inf")})
        run.set_tag("t", "x'y")
    row = wb.search_runs("types").iloc[0]
    for key, value in logged.items():
        got = row[f"params.{key}"]
        assert type(got) is type(value), key
        assert got == value or (value != value and got != got), key
    assert row["metrics.m"] == float("inf") and row["tags.t"] == "x'y"


def test_huge_error_text_is_capped(ws: Workspace) -> None:
    with pytest.raises(ValueError), wb.start_run(experiment="e") as run:
        raise ValueError("x" * 1_000_000)
    error = wb.get_run(run.run_id).run.error
    assert len(error) == fluent.MAX_ERROR and error.startswith("ValueError: xxx")


def test_best_runs_follows_each_metrics_direction_at_every_door(ws: Workspace, capsys) -> None:
    """The SDK and the CLI pick the best run per metric with the page's rule: the highest
    AUC, the lowest RMSE, the highest neg_log_loss (scikit-learn's sign); a NaN never wins."""
    from workbench.cli.main import main

    ids = []
    for auc, rmse, neg in ((0.7, 3.0, -0.9), (0.9, 5.0, -0.2), (float("nan"), 1.0, -0.5)):
        with wb.start_run(experiment="best") as run:
            run.log_metrics({"auc": auc, "rmse": rmse, "neg_log_loss": neg})
        ids.append(run.run_id)
    table = wb.best_runs(ids).set_index("metric")
    assert table.loc["auc", "run_id"] == ids[1] and table.loc["auc", "runs"] == 2
    assert table.loc["rmse", "run_id"] == ids[2] and not table.loc["rmse", "higher_is_better"]
    assert table.loc["neg_log_loss", "run_id"] == ids[1]
    assert main(["runs", "best", *ids, "--format", "json"]) == 0
    rows = {r["metric"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["rmse"]["run_id"] == ids[2] and rows["rmse"]["direction"] == "lower"
    assert rows["auc"]["run_id"] == ids[1] and rows["auc"]["direction"] == "higher"
    assert main(["runs", "best", *ids, "nosuchrun"]) == 1
    assert "No run with id nosuchrun" in capsys.readouterr().err
    with pytest.raises(InvalidInput, match="at least one run"):
        wb.best_runs([])
    with pytest.raises(InvalidInput, match="Give a list of run ids"):
        wb.best_runs(ids[0])  # one string was read character by character: an empty table
    with pytest.raises(NotFound, match="No run with id nope"):
        wb.best_runs([ids[0], "nope"])
