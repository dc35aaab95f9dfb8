"""The `workbench` command line: every command answers --help, works, and fails in one line."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import PYTHON, ROOT, make_run, notes, subprocess_env
from workbench import sdk as wb
from workbench.cli.main import build_parser, main
from workbench.store import migrations
from workbench.store.workspace import Workspace


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list:
    paths = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                children = command_paths(sub, (*prefix, name))
                paths += children or [(*prefix, name)]
    return paths


COMMANDS = command_paths(build_parser())


def test_issue_commands_exist() -> None:
    for cmd in [("ui",), ("sync",), ("runs", "list"), ("db", "status"), ("db", "upgrade")]:
        assert cmd in COMMANDS


@pytest.mark.parametrize("cmd", COMMANDS, ids=" ".join)
def test_every_command_has_help(cmd: tuple[str, ...], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*cmd, "--help"])
    assert exit_info.value.code == 0
    assert "usage: workbench" in capsys.readouterr().out


@pytest.mark.parametrize("cmd", COMMANDS, ids=" ".join)
def test_every_command_is_documented(cmd: tuple[str, ...]) -> None:
    docs = (ROOT / "docs" / "cli.md").read_text()
    assert f"workbench {' '.join(cmd)}" in docs, "document it in docs/cli.md"


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("workbench")  # installed beside the interpreter
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "db" in out.stdout


def test_runs_list_formats(ws: Workspace, capsys) -> None:
    run_id = make_run(experiment="churn", name="rf", params={"depth": 3}, metrics={"auc": 0.9})
    make_run(experiment="other", name="x")
    assert main(["runs", "list", "--experiment", "churn", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["run_id"], row["params.depth"], row["metrics.auc"]) == (run_id, 3, 0.9)
    assert main(["runs", "list", "--format", "csv"]) == 0
    assert capsys.readouterr().out.count("\n") == 3
    assert main(["runs", "list"]) == 0
    assert "rf" in capsys.readouterr().out


def test_runs_list_table_keeps_integer_params_integers(ws: Workspace, capsys) -> None:
    """A newcomer's find: a param column of ints beside runs without it printed 5.0, 3.0
    in the table (CSV and JSON were right); the missing cell reads None, not NaN."""
    make_run(experiment="e", name="a", params={"depth": 5, "kernel": "rbf"})
    make_run(experiment="e", name="b", params={"C": 0.5})
    assert main(["runs", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    rows = {line.split()[header.index("name")]: line.split() for line in lines[1:]}
    depth = header.index("params.depth") + 1  # started_at is two words
    assert rows["a"][depth] == "5" and rows["b"][depth] == "None"
    assert rows["b"][header.index("params.C") + 1] == "0.5"


def test_runs_list_status_filter(ws: Workspace, capsys) -> None:
    make_run(name="good")
    make_run(name="bad", fail=True)
    assert main(["runs", "list", "--status", "failed", "--format", "json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["bad"]


def test_experiments_list(ws: Workspace, capsys) -> None:
    make_run(experiment="churn")
    assert main(["experiments", "list"]) == 0
    assert "churn" in capsys.readouterr().out


def test_db_status_and_upgrade(ws: Workspace, capsys) -> None:
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert f"schema version: {migrations.HEAD} (code head: {migrations.HEAD}, pending: 0)" in out
    assert main(["db", "upgrade"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_sync_reports_what_it_did(ws: Workspace, capsys) -> None:
    make_run(metrics={"m": [1.0, 2.0]})
    assert main(["sync"]) == 0
    assert "ingested 0 events" in capsys.readouterr().out  # the run's end already did it


def test_errors_are_one_line_and_exit_1(tmp_path: Path, capsys) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    assert main(["--workspace", str(afile), "runs", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: The workspace path") and err.count("\n") == 1


def test_unknown_experiment_names_the_known_ones(ws: Workspace, capsys) -> None:
    make_run(experiment="churn")
    assert main(["runs", "list", "--experiment", "nope"]) == 1
    assert "Experiment 'nope' not found; known experiments: churn." in capsys.readouterr().err


KILLED_LOGGER = """
import os, signal
import workbench as wb
run = wb.start_run(experiment="watched", name="dies")
for step in range(10):
    run.log_metric("m", step, step=step)
print(run.run_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


CTRL_C_RAISES = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
    " sys.argv[0] = 'workbench'; runpy.run_module('workbench.cli', run_name='__main__')"
)


@pytest.mark.slow
def test_sync_watch_ingests_live_and_marks_dead_runs_lost(ws: Workspace) -> None:
    env = subprocess_env(ws.root, WORKBENCH_INGEST_INTERVAL="0")  # only the watcher ingests
    # Run as from a terminal, where Ctrl-C raises KeyboardInterrupt. (A job started with `&`
    # by a non-interactive shell, as CI may be, inherits SIGINT ignored, and so would the
    # watcher: the test then waited for an exit that never came.)
    watcher = subprocess.Popen(
        [PYTHON, "-c", CTRL_C_RAISES, "sync", "--watch"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "watching" in watcher.stdout.readline()
        out = subprocess.run(
            [PYTHON, "-c", KILLED_LOGGER], cwd=ROOT, env=env, capture_output=True, text=True
        )
        run_id = out.stdout.strip()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and wb.get_run(run_id).run.status == "running":
            time.sleep(0.2)
        detail = wb.get_run(run_id)
        assert detail.run.status == "lost" and detail.metrics["m"].n_points == 10
    finally:
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(15) == 130  # a round in flight may finish first


OPEN_LOGGER = """
import time
import workbench as wb
run = wb.start_run(experiment="watched", name="still running")
for step in range(5):
    run.log_metric("m", step, step=step)
print(run.run_id, flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_sync_watch_stops_cleanly_on_sigterm(ws: Workspace) -> None:
    env = subprocess_env(ws.root, WORKBENCH_INGEST_INTERVAL="0")  # only the watcher ingests
    watcher = subprocess.Popen(
        [PYTHON, "-m", "workbench.cli", "sync", "--watch"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    logger = subprocess.Popen(
        [PYTHON, "-c", OPEN_LOGGER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert "watching" in watcher.stdout.readline()
        run_id = logger.stdout.readline().strip()
        watcher.terminate()  # SIGTERM, as kill or a service manager sends
        assert watcher.wait(20) == 0
        assert "stopped;" in watcher.stdout.read()
        # What was logged before the stop is in the database: the last round took it.
        assert wb.get_run(run_id).metrics["m"].n_points == 5
    finally:
        logger.kill()
        watcher.kill()
        logger.wait()
        watcher.wait()


def test_datasets_commands(ws: Workspace, tmp_path: Path, capsys) -> None:
    from tests.conftest import make_frame

    first, second = tmp_path / "march.csv", tmp_path / "april.parquet"
    make_frame(40).to_csv(first, index=False)
    changed = make_frame(40)
    changed.loc[0, "plan"] = "platinum"
    changed.to_parquet(second, index=False)
    assert (
        main(
            ["datasets", "add", str(first), "--name", "churn", "-m", "March", "--tag", "source=crm"]
        )
        == 0
    )
    assert "Registered churn@v1: 40 rows x 6 columns." in capsys.readouterr().out
    assert main(["datasets", "add", str(first), "--name", "churn"]) == 0
    assert "Same content as churn@v1" in capsys.readouterr().out
    assert main(["datasets", "add", str(second), "--name", "churn"]) == 0
    out = capsys.readouterr().out
    assert "breaks the contract" in out and "failed allowed_values" in out
    assert main(["datasets", "list"]) == 0
    assert "churn" in capsys.readouterr().out
    assert main(["datasets", "versions", "churn"]) == 0
    out = capsys.readouterr().out
    assert "churn@v2" in out and "FAILED (1)" in out and "March" in out
    assert main(["datasets", "show", "churn@v2"]) == 0
    out = capsys.readouterr().out
    assert "income" in out and "platinum" in out
    assert main(["datasets", "diff", "churn@v1", "churn@v2"]) == 0
    assert "matched by id: 0 added, 0 removed, 1 changed" in capsys.readouterr().out
    assert main(["datasets", "export", "churn@v1", str(tmp_path / "out.csv")]) == 0
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 41


def test_datasets_errors_are_one_line(ws: Workspace, tmp_path: Path, capsys) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    assert main(["datasets", "add", str(tmp_path / "empty.csv"), "--name", "x"]) == 1
    assert main(["datasets", "show", "nope@v1"]) == 1
    assert main(["datasets", "add", str(tmp_path / "empty.csv"), "--name", "../x"]) == 1
    assert (
        main(["datasets", "add", str(tmp_path / "empty.csv"), "--name", "x", "--tag", "novalue"])
        == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("error: ") for line in err)
    assert "is empty (0 bytes)" in err[0] and "'nope' not found" in err[1]


def test_sync_registers_inbox_files(ws: Workspace, capsys) -> None:
    import os

    from tests.conftest import make_frame

    folder = ws.paths.inbox / "churn"
    folder.mkdir(parents=True)
    path = folder / "march.csv"
    make_frame(10).to_csv(path, index=False)
    old = time.time() - 60
    os.utime(path, (old, old))
    assert main(["sync"]) == 0
    assert "inbox/churn/march.csv: Registered churn@v1" in capsys.readouterr().out


def test_drift_and_monitor_commands(ws: Workspace, tmp_path: Path, capsys) -> None:
    from tests.test_model_drift import customers
    from workbench.registry import models as registry
    from workbench.training import runner
    from workbench.training.task import RunSpec

    wb.log_dataset(customers(1500, 1), "churn")
    launch = runner.launch(
        ws, RunSpec("churn", "churned", "logistic"), experiment="churn", wait=True
    )
    registry.register_model(ws, launch.run_ids[0], "churn-clf")
    registry.set_alias(ws, "churn-clf", "champion", 1)
    wb.log_dataset(customers(1500, 2, concept=True), "churn")
    base = ["--workspace", str(ws.root)]
    code = main(
        [
            *base,
            "drift",
            "report",
            "churn@v2",
            "--model",
            "churn-clf@champion",
            "--rule",
            "age=psi:0.5",
            "--html",
            str(tmp_path / "r.html"),
            "--fail-on-drift",
        ]
    )
    out = capsys.readouterr().out
    assert code == 3, out  # the data holds, the model does not
    # 3 features; the label (churned) is reported apart, beside the model
    assert out.startswith("no drift: churn@v2 against churn@v1, 0 of 3 columns drifted")
    assert "label churned (apart from the features):" in out
    assert "model churn-clf/1: performance degraded" in out
    assert (tmp_path / "r.html").stat().st_size > 1_000_000
    assert main([*base, "drift", "report", "churn@v2", "--reference", "churn@v1"]) == 0
    capsys.readouterr()
    assert main([*base, "drift", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "model churn-clf/1" in lines[1] and "model" not in lines[0]

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    customers(3000, 3).to_csv(a, index=False)
    customers(3000, 4, shift=150).to_csv(b, index=False)
    assert main(["drift", "files", str(a), str(b), "--fail-on-drift"]) == 3
    assert "drift: " in capsys.readouterr().out
    assert (
        main(
            ["drift", "files", str(a), str(b), "--rule", "usage=ignore", "--rule", "churned=ignore"]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("no drift:")
    assert main(["drift", "files", str(a), str(b), "--rule", "usage"]) == 1
    assert "write COLUMN=METHOD[:THRESHOLD]" in capsys.readouterr().err
    assert main(["drift", "files", str(a), str(b), "--rule", "usage=psi:high"]) == 1
    assert "the threshold 'high' is not a number" in capsys.readouterr().err

    assert (
        main(
            [
                *base,
                "monitors",
                "set",
                "churn-clf",
                "--dataset",
                "churn",
                "--target",
                "churned",
                "--max-performance-drop",
                "0.05",
            ]
        )
        == 0
    )
    assert "performance drop above 5%" in capsys.readouterr().out
    assert main([*base, "monitors", "list"]) == 0
    listed = capsys.readouterr().out
    assert "churn-clf" in listed and "status: ok" in listed


def _one_error_line(capsys, *parts: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "Error:" not in err.split(":", 1)[1][:12], err
    for part in parts:
        assert part in err, err


def test_drift_files_with_a_time_zone_column(tmp_path: Path, capsys) -> None:
    import pandas as pd

    path = tmp_path / "ex.parquet"
    frame = pd.DataFrame({"tz": pd.date_range("2024-01-01", periods=5, tz="Europe/Berlin")})
    frame.to_parquet(path)
    assert main(["drift", "files", str(path), str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"no drift: {path} against {path}, 0 of 1")


def test_diff_of_versions_without_a_shared_column(ws: Workspace, capsys) -> None:
    import pandas as pd

    wb.log_dataset(pd.DataFrame({"a": [1, 2, 3]}), "t")
    wb.log_dataset(pd.DataFrame({"b": [1, 2]}), "t")
    assert main(["datasets", "diff", "t@v1", "t@v2"]) == 0
    out = capsys.readouterr().out
    assert "as multisets: 2 rows only in current, 3 only in reference" in out
    assert "The versions share no column, so no row can match" in out


def test_paths_that_are_missing_or_folders(ws: Workspace, tmp_path: Path, capsys) -> None:
    import pandas as pd

    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n1,2\n")
    wb.log_dataset(pd.DataFrame({"a": [1, 2]}), "t")
    missing, folder = str(tmp_path / "nonexist.csv"), str(tmp_path)
    for argv, part in [
        (["drift", "files", missing, str(plain)], "No such file: "),
        (["drift", "files", folder, str(plain)], "is a folder; give the path of a .csv"),
        (["drift", "files", str(plain), missing], "No such file: "),
        (["datasets", "add", missing, "--name", "x"], "nonexist.csv"),
        (["restore", missing, str(tmp_path / "r1")], "No backup archive at"),
        (["restore", folder, str(tmp_path / "r2")], "is a folder, not a backup archive"),
        (
            ["restore", str(plain), str(tmp_path / "r3")],
            "not a workbench backup: plain.csv is not a tar archive",
        ),
        (["import-mlflow", missing], "No MLflow database at"),
        (
            ["datasets", "export", "t", str(tmp_path / "nonexistent_dir" / "x.csv")],
            "nonexistent_dir does not exist. Create it first",
        ),
        (["datasets", "export", "t", folder], "is a folder; give a file name"),
        (
            ["drift", "report", "t", "--reference", "t", "--html", str(tmp_path / "no" / "r.html")],
            "does not exist. Create it first",
        ),
    ]:
        assert main(argv) == 1, argv
        _one_error_line(capsys, part)
    assert not (tmp_path / "nonexistent_dir").exists() and not (tmp_path / "r3").exists()
    assert main(["drift", "list"]) == 0 and capsys.readouterr().out == "(none)\n"  # none stored


def test_a_closed_pipe_is_quiet(ws: Workspace, ws_path: Path) -> None:
    import pandas as pd

    wb.log_dataset(pd.DataFrame({f"c{i}": range(50) for i in range(200)}), "wide")
    shell = f"{PYTHON} -m workbench.cli datasets show wide | head -1"
    done = subprocess.run(
        ["bash", "-c", shell],
        env=subprocess_env(ws_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.startswith("wide@v1: 50 rows x 200 columns")
    assert notes(done.stderr) == [], done.stderr


def test_fail_on_drift_fails_when_a_column_is_removed(ws, tmp_path: Path, capsys) -> None:
    """A column dropped from the current data was 'no drift' (or 'schema change') and
    --fail-on-drift exited 0: a job reading that column would break. It fails, saying why;
    an added column passes."""
    import pandas as pd

    from workbench import sdk as wb

    base = ["--workspace", str(ws.root)]
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500)})
    wb.log_dataset(frame, "rm")
    wb.log_dataset(frame[["a"]], "rm")
    wb.log_dataset(frame.assign(c=1.0), "rm")
    assert main([*base, "drift", "report", "rm@v2", "--reference", "rm@v1", "--fail-on-drift"]) == 3
    out = capsys.readouterr().out
    assert "exit 3: 1 column(s) removed: b" in out
    assert out.startswith("schema change: rm@v2 against rm@v1"), out  # never "no drift"
    assert main([*base, "drift", "report", "rm@v3", "--reference", "rm@v1", "--fail-on-drift"]) == 0
    one, other = tmp_path / "one.csv", tmp_path / "other.csv"
    frame.to_csv(one, index=False)
    frame[["b"]].rename(columns={"b": "z"}).to_csv(other, index=False)
    assert main(["drift", "files", str(one), str(other), "--fail-on-drift"]) == 3
    assert "2 column(s) removed: a, b" in capsys.readouterr().out


def test_a_password_prompt_without_input_is_a_clear_error(ws_path: Path) -> None:
    """`users add` with no terminal and nothing on stdin said "a bug in the workbench
    (EOFError)"."""
    done = subprocess.run(
        [PYTHON, "-m", "workbench.cli", "users", "add", "ada", "--role", "admin"],
        env=subprocess_env(ws_path),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )  # no controlling terminal to prompt on
    assert done.returncode == 1
    assert done.stderr.rstrip().endswith(
        "error: No password was given (the input ended). Type it at the prompt, or pipe it "
        "in with --password-stdin; nothing was changed."
    ), done.stderr
    assert "bug" not in done.stderr and "Traceback" not in done.stderr


def test_in_a_terminal_every_command_names_its_workspace(tmp_path: Path) -> None:
    """Issue #16: a command typed in the install folder acted on ./workspace without naming
    it. With stderr on a terminal (a pseudo-terminal here), the first line names the
    workspace and why that one; stdout stays the command's own."""
    import os
    import pty

    install = tmp_path / "install"
    install.mkdir()
    env = subprocess_env(tmp_path)
    del env["WORKBENCH_WORKSPACE"]
    here = install / "workspace"
    again = "--workspace names another"
    cases = (
        ([], f"{here} (new, in the current folder; {again})"),
        (["--workspace", str(tmp_path / "wb")], f"{tmp_path / 'wb'} (--workspace)"),
        ([], f"{here} (found from the current folder; {again})"),
    )
    for args, named in cases:
        leader, follower = pty.openpty()
        done = subprocess.run(
            [PYTHON, "-m", "workbench.cli", *args, "datasets", "list"],
            cwd=install,
            env=env,
            stderr=follower,
            stdout=subprocess.PIPE,
            text=True,
            timeout=120,
        )
        os.close(follower)
        said = os.read(leader, 4096).decode()
        os.close(leader)
        assert done.returncode == 0 and said.splitlines()[0] == f"workspace: {named}", said
        assert "workspace:" not in done.stdout


def test_a_table_writes_out_what_would_reorder_the_terminal(ws: Workspace, capsys) -> None:
    """A tag value or param holding U+202E (right-to-left override) or a newline was printed
    raw in `runs list`'s table and flipped or broke the rest of the terminal line; csv and
    json keep the text as it is (they are data, not a display)."""
    make_run(experiment="surr", name="r1", params={"p": "x\u202ey"}, tags={"t": "a\nb"})
    assert main(["runs", "list", "--experiment", "surr"]) == 0
    table = capsys.readouterr().out
    assert "x\\u202ey" in table and "a\\u000ab" in table and "\u202e" not in table
    assert main(["runs", "list", "--experiment", "surr", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["params.p"] == "x\u202ey" and row["tags.t"] == "a\nb"


def test_lines_for_a_person_write_out_what_would_reorder_the_terminal(
    ws: Workspace, tmp_path: Path, capsys
) -> None:
    """A column name from a user's file holding U+202E, a newline and an ESC colour code
    reached the terminal raw in `drift files` and in a failed contract check: the line
    broke, turned red and read backwards. Those lines write them out, as tables do."""
    import pandas as pd

    name = "cx\u202eabc\nline2\x1b[31mRED"
    pd.DataFrame({name: ["a"] * 50 + ["b"] * 50}).to_csv(tmp_path / "w1.csv", index=False)
    pd.DataFrame({name: ["zz"] * 100}).to_csv(tmp_path / "w2.csv", index=False)
    assert main(["drift", "files", str(tmp_path / "w1.csv"), str(tmp_path / "w2.csv")]) == 0
    main(["datasets", "add", str(tmp_path / "w1.csv"), "--name", "w"])
    main(["datasets", "add", str(tmp_path / "w2.csv"), "--name", "w"])
    out = capsys.readouterr().out
    assert "cx\\u202eabc\\u000aline2\\u001b[31mRED" in out and "failed allowed_values" in out
    assert "\u202e" not in out and "\x1b" not in out and "\nline2" not in out
