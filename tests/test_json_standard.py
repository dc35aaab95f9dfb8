"""Every JSON file or answer the workbench writes is standard JSON: no NaN or Infinity
tokens (RFC 8259), which Python's json writes by default and strict readers refuse.
A NaN the user logged still comes back as NaN where the workbench reads it back."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, subprocess_env
from workbench import sdk as wb
from workbench.store import jsontext
from workbench.store.workspace import Workspace


def strict(text: str):
    """Parse as a strict reader does: a NaN/Infinity token raises."""

    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1.5])
def test_exact_json_round_trips_non_finite_floats(value: float) -> None:
    text = jsontext.dumps_exact({"v": value, "l": [value]})
    strict(text)
    back = jsontext.loads_exact(text)
    same = (lambda x: math.isnan(x)) if math.isnan(value) else (lambda x: x == value)
    assert same(back["v"]) and same(back["l"][0])
    assert strict(jsontext.dumps({"v": value}))["v"] == (value if math.isfinite(value) else None)


def test_old_event_lines_with_bare_nan_tokens_still_parse() -> None:
    assert math.isnan(jsontext.loads_exact('{"value": NaN}')["value"])


def test_event_log_is_standard_json_and_keeps_a_diverged_loss(ws: Workspace) -> None:
    with wb.start_run(experiment="json") as run:
        run.log_metrics({"loss": math.nan, "grad": math.inf, "low": -math.inf, "auc": 0.5})
        run.log_record("evaluation", "curve", {"points": [0.1, math.nan]})
    log = ws.root / "runs" / run.run_id / "events.jsonl"
    for line in log.read_text().splitlines():
        strict(line)
    metrics = wb.get_run(run.run_id).metrics
    assert math.isnan(metrics["loss"].last_value)
    assert metrics["grad"].last_value == math.inf and metrics["low"].last_value == -math.inf


def test_runs_list_json_output_is_standard(ws_path: Path) -> None:
    with wb.start_run(experiment="json") as run:
        run.log_metric("loss", math.nan)
        run.log_params({"lr": math.inf})
    out = subprocess.run(
        [PYTHON, "-m", "workbench.cli", "runs", "list", "--experiment", "json", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=subprocess_env(ws_path),
        check=True,
    ).stdout
    rows = strict(out)
    assert len(rows) == 1 and rows[0]["metrics.loss"] is None
