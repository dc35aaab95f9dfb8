"""Hostile text through every text input and text area of every page (AppTest, which drives
the real page scripts), the runs filter, and the names the services take: nothing crashes,
nothing changes that the input should not change, and no file appears outside the
workspace."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, make_run, subprocess_env
from tests.test_pages import app_env, run_page  # noqa: F401 (a fixture)
from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.drift import report as reports
from workbench.registry import models as registry
from workbench.store.errors import InvalidInput, WorkbenchError
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.training import runner
from workbench.training.task import RunSpec
from workbench.ui import nav

PAYLOADS = [
    "'; DROP TABLE runs; --",
    '" OR 1=1 --',
    "x') UNION SELECT password_hash FROM users --",
    "../../../../tmp/wb-evil",
    "/etc/passwd",
    "..\\..\\windows\\system32",
    "<script>alert(1)</script>",
    "%00\x00null",
    "{{7*7}} ${7*7}",
]
TABLES = (
    "runs",
    "params",
    "metrics",
    "tags",
    "datasets",
    "dataset_versions",
    "models",
    "model_versions",
    "users",
    "drift_reports",
)


def snapshot(ws: Workspace) -> dict[str, int]:
    return ws.store.read(lambda tx: {t: tx.scalar(f"SELECT count(*) FROM {t}") for t in TABLES})


@pytest.fixture
def filled(app_env: Workspace) -> Workspace:  # noqa: F811
    wb.log_dataset(binary_frame(60), "churn")
    wb.log_dataset(binary_frame(70), "churn")
    launch = runner.launch(app_env, RunSpec("churn", "churned", "dummy"), experiment="e", wait=True)
    registry.register_model(app_env, launch.run_ids[0], "clf")
    registry.set_alias(app_env, "clf", "champion", 1)
    return app_env


@pytest.mark.parametrize("page", nav.PAGES, ids=lambda p: p.title)
def test_hostile_text_in_every_input_of_every_page(filled: Workspace, page) -> None:
    before = snapshot(filled)
    at = run_page(page)
    for payload in PAYLOADS:
        for i in range(len(at.text_input)):
            at.text_input[i].input(payload)
        for i in range(len(at.text_area)):
            at.text_area[i].input(payload)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        # Submitting what the inputs hold: every button that a form offers.
        for button in [b for b in at.button if b.label in ("Save card", "Tag")]:
            button.click().run()
            assert not at.exception, [e.value for e in at.exception]
    after = snapshot(filled)
    changed = {t for t in TABLES if after[t] != before[t]}
    assert changed <= {"tags"}, changed  # a tag write with a hostile value is just data
    assert after["runs"] == before["runs"] and after["users"] == 0
    assert not Path("/tmp/wb-evil").exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_names_are_refused_or_harmless(ws: Workspace, payload: str) -> None:
    wb.log_dataset(binary_frame(40), "churn")
    before = snapshot(ws)
    for call in (
        lambda: datasets.register(ws, binary_frame(40), payload),
        lambda: datasets.get_version(ws, payload),
        lambda: registry.get_version(ws, payload),
        lambda: experiments.runs_table(ws, query=payload),
        lambda: experiments.runs_table(ws, query=f"params.x = '{payload}'"),
        lambda: experiments.runs_table(ws, query=f"tags.{payload} = 'x'"),
    ):
        try:
            call()
        except WorkbenchError:
            pass  # a clear refusal is the expected outcome
    after = snapshot(ws)
    assert after == before or after["dataset_versions"] == before["dataset_versions"] + 1
    assert not Path("/tmp/wb-evil").exists() and not (ws.root.parent / "wb-evil").exists()


def test_export_never_overwrites_by_accident(ws: Workspace, tmp_path: Path) -> None:
    wb.log_dataset(binary_frame(40), "churn")
    precious = tmp_path / "notes.csv"
    precious.write_text("mine")
    with pytest.raises(WorkbenchError, match="exists; choose another name"):
        datasets.export(ws, "churn", precious)
    assert precious.read_text() == "mine"
    datasets.export(ws, "churn", precious, overwrite=True)
    assert precious.read_text().startswith("churned") or "," in precious.read_text()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_outputs_are_regular_files_only(ws: Workspace, tmp_path: Path) -> None:
    """A newcomer's find: `datasets export churn@v1 /dev/null --force` replaced /dev/null
    with a regular file, a named pipe likewise; `drift report --html PIPE` hung; `--html`
    overwrote an existing file without --force; exports came out 0600 whatever the umask.
    Every door that writes a user-named file refuses what is not a regular file, replaces
    an existing file only on request, and leaves the workspace as it was."""
    wb.log_dataset(binary_frame(40), "churn")
    wb.log_dataset(binary_frame(50), "churn")
    report = reports.run_report(ws, "churn@v1", "churn@v2")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    device = tmp_path / "null-link"  # a link to /dev/null: what a replace would hit
    device.symlink_to(os.devnull)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    refused = [
        (pipe, "is a named pipe"),
        (device, "is a character device"),
        (dangling, "symbolic link to nothing"),
    ]
    for target, says in refused:
        with pytest.raises(InvalidInput, match=says):
            datasets.export(ws, "churn@v1", target, fmt="csv", overwrite=True)
        with pytest.raises(InvalidInput, match=says):
            reports.export_html(ws, report.report_id, target, overwrite=True)
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert device.is_symlink() and os.readlink(device) == os.devnull
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    mine = tmp_path / "mine.csv"
    mine.write_text("mine")
    with pytest.raises(InvalidInput, match="exists; choose another name"):
        reports.export_html(ws, report.report_id, mine)
    assert mine.read_text() == "mine"
    assert (
        reports.export_html(ws, report.report_id, mine, overwrite=True)
        .read_text()
        .startswith("<!doctype html>")
    )
    umask = os.umask(0o022)
    os.umask(umask)
    out = datasets.export(ws, "churn@v1", tmp_path / "out.csv")
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # as any file the user makes

    reports_before = len(reports.list_reports(ws))
    ws.store.close()
    cli = [
        PYTHON,
        "-m",
        "workbench.cli",
        "--workspace",
        str(ws.root),
        "drift",
        "report",
        "churn@v2",
        "--reference",
        "churn@v1",
        "--html",
    ]
    for target, says in [(pipe, "is a named pipe"), (mine, "exists; choose another name")]:
        done = subprocess.run(
            [*cli, str(target)],
            cwd=ROOT,
            env=subprocess_env(ws.root),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1 and says in done.stderr, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
    assert len(reports.list_reports(ws)) == reports_before  # refused before it stored one
    assert mine.read_text().startswith("<!doctype html>")


def test_output_paths_say_what_is_in_the_way(ws: Workspace, tmp_path: Path, capsys) -> None:
    """A newcomer's finds: `models export M /tmp/xf/sub`, /tmp/xf a file, said "the folder
    /tmp/xf is not a folder. Create it first (mkdir -p /tmp/xf)", which cannot work; an
    empty TARGET was taken as `.`. Every door that writes a user-named output says which
    path is a file (or a link to nothing), and that an empty target is empty."""
    from workbench.cli.main import main

    in_the_way = tmp_path / "xf"
    in_the_way.write_text("a file")
    before_blobs = [p.name for p in (ws.root / "blobs").iterdir()]
    dangling = tmp_path / "dl"
    dangling.symlink_to(tmp_path / "nowhere")
    doors = [
        lambda target: datasets.export(ws, "churn@v1", target),
        lambda target: reports.export_html(ws, "r1", target),
        lambda target: registry.export_version(ws, "clf@champion", target),
    ]
    for door in doors:
        for target, says in [
            (in_the_way / "sub" / "out.csv", f"{in_the_way} is a file, not a folder"),
            (dangling / "out.csv", f"{dangling} is a symbolic link to nothing, not a folder"),
        ]:
            with pytest.raises(InvalidInput, match=says) as caught:
                door(target)
            assert "mkdir -p" not in str(caught.value)
    for door in doors:
        with pytest.raises(InvalidInput, match=r"(target|export folder|file) given is empty"):
            door("")
    with pytest.raises(InvalidInput, match=f"Cannot export into {in_the_way}: .* is a file"):
        registry.export_version(ws, "clf@champion", in_the_way)
    assert in_the_way.read_text() == "a file" and dangling.is_symlink()
    html = ["drift", "report", "churn@v2", "--reference", "churn@v1", "--html"]
    argvs = [
        ["models", "export", "clf@champion", str(in_the_way / "sub")],
        ["datasets", "export", "churn@v1", str(in_the_way / "out.csv")],
        [*html, str(in_the_way / "r.html")],
    ]
    for argv in argvs:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err == (
            f"error: Cannot write {argv[-1]}: {in_the_way} is a file, not a folder; choose "
            "another path.\n"
        ), err
    # An empty TARGET from a shell (`""`, an unset variable) was the current folder: "."
    # is not empty, the export went to ./.parquet, `--html ""` wrote no file and said nothing.
    for argv in (argvs[0][:-1], argvs[1][:-1], html):
        assert main([*argv, ""]) == 1, argv
        assert "given is empty; give a path." in capsys.readouterr().err
    # Where nothing is in the way, creating the folder is the advice, quoted for a shell.
    with pytest.raises(InvalidInput, match=r"\(mkdir -p '.*/no such'\)"):
        datasets.export(ws, "churn@v1", tmp_path / "no such" / "out.csv")
    # Inside the workspace an export is a stray file: doctor --fix removed an exported
    # model's five files from blobs/ as orphans. Every door refuses it, as backup does.
    inside = ws.root / "blobs"
    for door, target in zip(doors, ["churn.csv", "r.html", "model"], strict=True):
        with pytest.raises(InvalidInput, match="is inside the workspace"):
            door(inside / target)
    assert main([*html, str(ws.root / "runs" / "r.html")]) == 1
    assert "is inside the workspace" in capsys.readouterr().err
    assert sorted(p.name for p in inside.iterdir()) == sorted(before_blobs)


def test_a_run_id_that_is_no_folder_name_never_reaches_the_disk(
    ws: Workspace, tmp_path: Path
) -> None:
    """A newcomer imported an MLflow store whose run id was ``../../victim``; purging that
    run deleted a folder outside the workspace. Whatever the database holds, a run's folder
    is one plain name under runs/: such an id is refused before anything is deleted."""
    from datetime import UTC, datetime

    from workbench.store import tracking
    from workbench.store.entities import Run
    from workbench.tracking import experiments

    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "important.txt").write_text("precious")
    forged = os.path.relpath(victim, ws.paths.runs)
    make_run(experiment="imported")  # (the experiment, through the SDK)
    exp = experiments.get_experiment_by_name(ws, "imported")
    now = datetime.now(UTC).replace(tzinfo=None)
    run = Run(
        forged,
        exp.experiment_id,
        "r",
        "finished",
        "mlflow",
        None,
        "me",
        None,
        None,
        now,
        now,
        None,
        "deleted",
    )
    ws.store.write(lambda tx: tracking.insert_run(tx, run))
    with pytest.raises(InvalidInput, match="is not a run id"):
        experiments.purge_runs(ws, [forged], user="me")
    assert (victim / "important.txt").read_text() == "precious"
    assert forged in [r.run_id for r in experiments.search_runs(ws, lifecycle="deleted")]
