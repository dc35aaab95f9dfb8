"""Bad input: a clear error that says what is wrong and what to do, and nothing changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench import sdk as wb
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.workspaces import open_workspace


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.log_params({3: "x"}), "keys must be strings; got 3 (int)"),
        (lambda r: r.log_metrics({None: 1.0}), "keys must be strings; got None"),
        (lambda r: r.log_param("a'b", 1), "has characters that are not allowed"),
        (lambda r: r.log_metric('x"; DROP TABLE runs; --', 1.0), "not allowed"),
        (lambda r: r.set_tag("k;", "v"), "not allowed"),
        (lambda r: r.log_param("k" * 10_000, 1), "1 to 250 characters; got 10000"),
        (lambda r: r.log_param("", 1), "1 to 250 characters; got 0"),
        (lambda r: r.log_param("p", [1, 2]), "is a list; params are None, bool, int, float"),
        (lambda r: r.log_param("p", 2**70), "does not fit in 64 bits"),
        (lambda r: r.log_param("p", "x" * 6001), "the limit is 6000"),
        (lambda r: r.log_metric("m", "0.5"), "is not a number (str)"),
        (lambda r: r.log_metric("m", None), "is not a number (NoneType)"),
        (lambda r: r.log_metric("m", True), "is not a number (bool)"),
        (lambda r: r.log_metric("m", 10**400), "is beyond what a float holds (about 1.8e308)"),
        (lambda r: r.log_metrics({"m": -(10**309)}), "is beyond what a float holds"),
        (lambda r: r.log_metric("m", 1.0, step=-1), "step must be a whole number from 0"),
        (lambda r: r.log_metric("m", 1.0, step=1.5), "step must be a whole number from 0"),
        (lambda r: r.set_tag("t", object()), "tags are strings"),
        (lambda r: r.log_params([("a", 1)]), "must be given as a dict"),
        (lambda r: r.log_artifact("/no/such/file.csv"), "is not a file"),
        (lambda r: r.log_artifact(__file__, name="../escape.py"), "relative path without '..'"),
        (lambda r: r.log_param("seen", 2), "already logged as 1"),
    ],
)
def test_bad_logging_call_changes_nothing(ws: Workspace, call, message: str) -> None:
    run = wb.start_run(experiment="bad-input", name="victim")
    run.log_params({"seen": 1})
    run.log_metric("ok", 1.0)
    log_before = (ws.paths.run_dir(run.run_id) / "events.jsonl").read_bytes()
    with pytest.raises(InvalidInput, match=re.escape(message)):
        call(run)
    assert (ws.paths.run_dir(run.run_id) / "events.jsonl").read_bytes() == log_before
    run.end()
    detail = wb.get_run(run.run_id)
    assert detail.params == {"seen": 1} and list(detail.metrics) == ["ok"]
    assert detail.tags == {} and detail.artifacts == ()


def test_half_bad_dict_writes_none_of_it(ws: Workspace) -> None:
    with wb.start_run(experiment="e") as run, pytest.raises(InvalidInput):
        run.log_metrics({"good": 1.0, "bad": "x"})
    assert wb.get_run(run.run_id).metrics == {}


def test_nan_and_inf_metrics_are_accepted_by_policy(ws: Workspace) -> None:
    with wb.start_run(experiment="e") as run:
        run.log_metrics({"loss": float("nan"), "grad": float("inf")}, step=0)
        run.log_metrics({"loss": 0.5, "grad": 2.0}, step=1)
    m = wb.get_run(run.run_id).metrics
    assert m["loss"].n_points == 2 and m["loss"].min_value == 0.5  # NaN left out of min
    assert m["grad"].max_value == 2.0  # inf left out of max


def test_logging_to_an_ended_run(ws: Workspace) -> None:
    with wb.start_run(experiment="e", name="done") as run:
        run.log_metric("m", 1.0)
    for call in (
        lambda: run.log_metric("m", 2.0),
        lambda: run.log_param("p", 1),
        lambda: run.set_tag("t", "v"),
    ):
        ended = r"'done' .* has ended with status finished; start a new run"
        with pytest.raises(InvalidInput, match=ended):
            call()
    assert wb.get_run(run.run_id).metrics["m"].n_points == 1


def test_no_active_run() -> None:
    with pytest.raises(InvalidInput, match=r"No active run; call wb.start_run"):
        wb.log_metric("m", 1.0)


@pytest.mark.parametrize("name", ["x" * 10_000, "", "   ", "tab\there"])
def test_bad_run_and_experiment_names_create_nothing(ws: Workspace, name: str) -> None:
    with pytest.raises(InvalidInput, match="name"):
        wb.start_run(experiment="e", name=name)
    with pytest.raises(InvalidInput, match="name"):
        wb.start_run(experiment=name)
    assert wb.search_runs().empty
    assert list(ws.paths.runs.iterdir()) == []


def test_workspace_path_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes")
    with pytest.raises(InvalidInput, match="is a file, not a folder"):
        open_workspace(path)
    assert path.read_text() == "my notes"


def test_database_file_that_is_not_duckdb(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "meta.duckdb").write_bytes(b"PK\x03\x04 a zip file, say" * 50)
    before = (root / "meta.duckdb").read_bytes()
    with pytest.raises(InvalidInput, match=r"exists but is not a DuckDB database\. Move it away"):
        open_workspace(root)
    assert (root / "meta.duckdb").read_bytes() == before


MAIN_MODEL = """
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
import workbench as wb

def prep(X):
    return X * 2

X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3})
y = (X.a > 20).astype(int)
model = make_pipeline(FunctionTransformer(prep), LogisticRegression()).fit(X, y)
with wb.start_run(experiment="main") as run:
    run.log_model(model, input_example=X.head())
wb.register_model(run.run_id, "mainfn")
wb.log_dataset(X, "feats")
"""


@pytest.fixture
def main_model(ws_path: Path, ws: Workspace) -> Workspace:
    """Model ``mainfn/1``: a pipeline with a function defined in the logging script's
    ``__main__``, logged and registered from another process."""
    import subprocess

    from tests.conftest import PYTHON, subprocess_env

    subprocess.run(
        [PYTHON, "-c", MAIN_MODEL],
        env=subprocess_env(ws_path),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return ws


def test_a_model_needing_main_code_is_refused_clearly(main_model: Workspace, capsys) -> None:
    from workbench.cli.main import main

    want = "model mainfn/1 needs code that cannot be imported here"
    with pytest.raises(InvalidInput, match=want) as caught:
        wb.load_model("mainfn")
    assert "'prep'" in str(caught.value) and "__main__" in str(caught.value)
    assert main(["predict", "mainfn", "feats"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {want}") and err.count("\n") == 1
    assert main(["serve", "mainfn", "--port", "1"]) == 1  # refused before it says "Serving"
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"error: {want}")


def test_rest_answers_json_when_the_model_cannot_load(main_model: Workspace) -> None:
    import asyncio
    import json

    from workbench.registry.serving import build_app

    app = build_app(main_model, "mainfn")
    sent: list[dict] = []

    async def call() -> None:
        body = json.dumps({"rows": [{"a": 1.0, "b": 0.0}]}).encode()
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/predict",
            "headers": [],
            "query_string": b"",
            "root_path": "",
            "scheme": "http",
            "http_version": "1.1",
            "server": ("test", 80),
            "asgi": {"version": "3.0"},
        }

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await app(scope, receive, send)

    asyncio.run(call())
    status = sent[0]["status"]
    answer = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert status == 503 and "needs code that cannot be imported here" in answer["error"]


def test_version_zero_is_not_the_latest(ws: Workspace, capsys) -> None:
    from tests.conftest import make_dataset_version
    from workbench.cli.main import main
    from workbench.store.errors import NotFound

    for seed in range(3):
        make_dataset_version("tips", rows=10, seed=seed)
    with pytest.raises(
        NotFound,
        match=re.escape("version 0 does not exist; versions start at 1; available: v1 to v3"),
    ):
        wb.load_dataset("tips@v0")
    assert main(["datasets", "show", "tips@v0"]) == 1
    assert "version 0 does not exist" in capsys.readouterr().err
    assert wb.load_dataset("tips@v3").equals(wb.load_dataset("tips"))


def test_model_version_zero_is_not_the_latest(main_model: Workspace) -> None:
    from workbench.registry import models as registry
    from workbench.store.errors import NotFound

    for ref in ("mainfn/0", "mainfn@v0"):
        with pytest.raises(NotFound, match=re.escape("mainfn/0 not found (versions start at 1)")):
            registry.get_version(main_model, ref)


def test_a_series_is_logged_as_one_column(ws: Workspace) -> None:
    import pandas as pd

    wb.log_dataset(pd.Series([1, 2, 3], name="n"), "s1")
    wb.log_dataset(pd.Series([1.5, 2.5]), "s2")
    assert list(wb.load_dataset("s1").columns) == ["n"]
    assert wb.load_dataset("s2")["value"].tolist() == [1.5, 2.5]
    with pytest.raises(InvalidInput, match="takes a DataFrame, a Series or a CSV/Parquet path"):
        wb.log_dataset([1, 2, 3], "s3")
