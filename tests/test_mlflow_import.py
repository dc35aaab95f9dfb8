"""Importing a tracking store that real MLflow 3.17.2 wrote (tests/data/mlflow.db, made by
tests/data/make_mlflow_store.py)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT
from workbench.cli.main import main
from workbench.store.workspace import Workspace
from workbench.tracking import experiments

STORE = ROOT / "tests" / "data" / "mlflow.db"


@pytest.fixture
def store_copy(tmp_path: Path) -> Path:
    target = tmp_path / "mlflow.db"
    shutil.copy(STORE, target)
    return target


def test_import_brings_runs_params_metrics_tags(ws: Workspace, store_copy: Path, capsys) -> None:
    assert main(["import-mlflow", f"sqlite:///{store_copy}"]) == 0
    out = capsys.readouterr().out
    assert "imported 6 runs (0 already here) in 2 experiments" in out
    names = {s.experiment.name: s.run_count for s in experiments.list_experiments(ws)}
    assert names == {"churn": 4, "pricing": 1}  # the deleted run sits in the trash
    deleted = experiments.search_runs(ws, lifecycle="deleted")
    assert [r.name for r in deleted] == ["deleted-later"]
    [rf8] = experiments.search_runs(ws, query="params.max_depth = 8")
    detail = experiments.get_run(ws, rf8.run_id)
    assert detail.run.name == "rf-8" and detail.run.status == "finished"
    assert detail.params == {
        "max_depth": 8,
        "learning_rate": 0.2,
        "criterion": "gini",
        "bootstrap": True,
        "class_weight": None,
    }
    assert detail.metrics["loss"].n_points == 20 and detail.metrics["loss"].last_step == 19
    assert detail.tags["owner"] == "bo" and detail.tags["mlflow.runName"] == "rf-8"
    history = experiments.metric_history(ws, [rf8.run_id], ["auc"])
    assert history["step"].tolist() == list(range(20))
    [diverged] = experiments.search_runs(ws, query="status = 'failed'")
    losses = experiments.metric_history(ws, [diverged.run_id], ["loss"])["value"].tolist()
    assert losses[0] == 1.0 and math.isnan(losses[1])
    found = experiments.search_runs(ws, query="metrics.auc > 0.8 and tags.team = 'growth'")
    assert {r.name for r in found} == {"rf-8", "rf-12"}


def test_importing_again_adds_nothing(ws: Workspace, store_copy: Path, capsys) -> None:
    main(["import-mlflow", str(store_copy)])
    capsys.readouterr()
    assert main(["import-mlflow", str(store_copy)]) == 0
    assert "imported 0 runs (6 already here)" in capsys.readouterr().out
    assert sum(s.run_count for s in experiments.list_experiments(ws)) == 5


def test_bad_sources(ws: Workspace, tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.db").write_text("not sqlite")
    assert main(["import-mlflow", str(tmp_path / "missing.db")]) == 1
    assert main(["import-mlflow", str(tmp_path / "notes.db")]) == 1
    assert main(["import-mlflow", "postgresql://host/db"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "No MLflow database at" in err[0]
    assert "is not an MLflow tracking database" in err[1]
    assert "Only MLflow's SQLite store can be imported" in err[2]


def test_what_sqlite_lets_a_store_hold_is_imported_or_counted(
    ws: Workspace, store_copy: Path, capsys
) -> None:
    """SQLite keeps any bytes and any value in any column. A run name that is not UTF-8
    stopped the import with "a bug" (OperationalError: could not decode), a metric value
    'abc' with another (ValueError), and a skipped key holding U+202E was printed raw."""
    import sqlite3

    con = sqlite3.connect(store_copy)
    con.execute("UPDATE runs SET name = CAST(X'61ff62' AS TEXT) WHERE name = 'rf-8'")
    con.execute("DELETE FROM tags WHERE key = 'mlflow.runName' AND value = 'rf-8'")
    con.execute("UPDATE metrics SET value = 'abc' WHERE rowid = (SELECT min(rowid) FROM metrics)")
    con.execute(
        "INSERT INTO tags (key, value, run_uuid) SELECT char(8238) || 'x', 'v', run_uuid "
        "FROM runs LIMIT 1"
    )
    con.commit()
    con.close()
    assert main(["import-mlflow", str(store_copy)]) == 0
    out = capsys.readouterr().out
    assert "imported 6 runs" in out and "skipped 1 metric points whose value" in out, out
    assert "\u202e" not in out and "\\u202ex" in out
    assert [r.name for r in experiments.search_runs(ws, query="params.max_depth = 8")] == [
        "a\\xffb"
    ]


def test_odd_param_step_and_run_times_are_kept_or_counted(
    ws: Workspace, store_copy: Path, capsys
) -> None:
    """A BLOB param value stopped the import with TypeError, a step past int64 with
    OverflowError, a start_time 'x' with TypeError and one past year 9999 with ValueError."""
    import sqlite3

    con = sqlite3.connect(store_copy)
    con.execute("UPDATE params SET value = X'00ff' WHERE rowid = (SELECT min(rowid) FROM params)")
    [(param_run, param_key)] = con.execute(
        "SELECT run_uuid, key FROM params WHERE rowid = (SELECT min(rowid) FROM params)"
    ).fetchall()
    con.execute(
        "UPDATE metrics SET step = 99999999999999999999 "
        "WHERE rowid = (SELECT min(rowid) FROM metrics)"
    )
    con.execute(
        "UPDATE metrics SET timestamp = -99999999999999999999 "
        "WHERE rowid = (SELECT max(rowid) FROM metrics)"
    )
    con.execute("UPDATE runs SET start_time = 'x' WHERE rowid = (SELECT min(rowid) FROM runs)")
    con.execute(
        "UPDATE runs SET start_time = 9999999999999999 WHERE rowid = (SELECT max(rowid) FROM runs)"
    )
    con.commit()
    con.close()
    assert main(["import-mlflow", str(store_copy)]) == 0
    out = capsys.readouterr().out
    assert "imported 6 runs (0 already here)" in out, out
    assert "skipped 2 metric points whose value, time or step" in out, out
    assert "2 run times unreadable, taken as unknown" in out, out
    detail = experiments.get_run(ws, param_run.replace("-", ""))
    assert detail.params[param_key] == "\x00\\xff"


def test_a_run_id_that_is_a_path_is_skipped(ws: Workspace, store_copy: Path, capsys) -> None:
    """A run_uuid '../../victim' was taken as a run id, so purging that run removed
    runs/../../victim, a folder outside the workspace."""
    import sqlite3

    victim = ws.paths.run_dir("x").parent / ".." / ".." / "victim"
    victim.mkdir(parents=True, exist_ok=True)
    (victim / "keep.txt").write_text("mine")
    con = sqlite3.connect(store_copy)
    con.execute("PRAGMA foreign_keys = OFF")
    [(old,)] = con.execute("SELECT run_uuid FROM runs WHERE lifecycle_stage = 'deleted'").fetchall()
    for table in ("runs", "params", "metrics", "tags", "latest_metrics"):
        con.execute(f"UPDATE {table} SET run_uuid = '../../victim' WHERE run_uuid = ?", [old])
    con.commit()
    con.close()
    assert main(["import-mlflow", str(store_copy)]) == 0
    out = capsys.readouterr().out
    assert "imported 5 runs (0 already here)" in out, out
    assert "skipped 1 runs whose id is not MLflow's 32 hex digits" in out, out
    assert experiments.search_runs(ws, lifecycle="deleted") == []
    assert sum(s.run_count for s in experiments.list_experiments(ws)) == 5
    assert all(len(r.run_id) == 32 for r in experiments.search_runs(ws))
    assert (victim / "keep.txt").read_text() == "mine"
    assert main(["import-mlflow", str(store_copy)]) == 0  # again: still skipped, not a run
    assert "imported 0 runs (5 already here)" in capsys.readouterr().out


def test_a_database_that_breaks_midway_says_how_far_the_import_got(
    ws: Workspace, store_copy: Path, capsys
) -> None:
    """The MLflow file's metric pages are overwritten: the import stops with one line that
    names the file, SQLite's complaint and what to do, and keeps what it imported."""
    import sqlite3

    con = sqlite3.connect(store_copy)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    [(root,)] = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'metrics'")
    con.close()
    with store_copy.open("r+b") as f:  # the metrics table's root page, garbage
        f.seek((root - 1) * page_size)
        f.write(b"\xa5" * page_size)
    assert main(["import-mlflow", str(store_copy)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {store_copy} could not be read to the end (")
    assert "runs were imported before that; repair the database (sqlite3 .recover)" in err
    assert "Traceback" not in err


def test_a_refused_experiment_name_stops_the_import_before_anything_is_written(
    ws: Workspace, store_copy: Path, capsys
) -> None:
    """A store edited by hand (or by another tool) can hold an experiment name the workbench
    refuses even after writing out what hides in it (here an empty one; a long name is cut
    to 250 characters instead). The import wrote the first experiment's runs, then stopped
    at the second with the workspace half imported; now every name is checked first and
    nothing is written."""
    import sqlite3

    con = sqlite3.connect(store_copy)
    [(last,)] = con.execute(
        "SELECT max(experiment_id) FROM experiments "
        "WHERE experiment_id IN (SELECT experiment_id FROM runs)"
    ).fetchall()
    con.execute("UPDATE experiments SET name = ? WHERE experiment_id = ?", ["", last])
    con.commit()
    con.close()
    assert main(["import-mlflow", str(store_copy)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Nothing was imported: MLflow experiment "), err
    assert "must be 1 to 250 characters; got 0 characters" in err
    assert "`mlflow experiments rename --experiment-id ID --new-name NAME`" in err
    assert "Traceback" not in err
    assert experiments.search_runs(ws) == [] and experiments.list_experiments(ws) == []
