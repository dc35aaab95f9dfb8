"""Bulk actions on runs: tag, trash, restore, purge (with artifacts and event logs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_run
from workbench import sdk as wb
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments


def run_with_artifact(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / f"{name}.txt"
    path.write_text(content)
    with wb.start_run(experiment="bulk", name=name) as run:
        run.log_metric("auc", 0.5)
        run.log_artifact(path)
    return run.run_id


def test_tag_trash_restore(ws: Workspace) -> None:
    ids = [make_run(experiment="bulk", name=n) for n in "abc"]
    assert experiments.tag_runs(ws, ids[:2], "review", "keep", user="ana") == 2
    # an id that names no run is neither tagged nor counted (it got a tag row, and counted)
    assert experiments.tag_runs(ws, [ids[0], "f" * 32], "review", "keep", user="ana") == 1
    assert (
        ws.store.read(lambda tx: tx.scalar("SELECT count(*) FROM tags WHERE key = 'review'")) == 2
    )
    tagged = experiments.search_runs(ws, query="tags.review = 'keep'")
    assert {r.name for r in tagged} == {"a", "b"}
    assert experiments.trash_runs(ws, ids[:2], user="ana") == 2
    assert [r.name for r in experiments.search_runs(ws)] == ["c"]
    assert {r.name for r in experiments.search_runs(ws, lifecycle="deleted")} == {"a", "b"}
    experiments.restore_runs(ws, ids[:1], user="ana")
    assert {r.name for r in experiments.search_runs(ws)} == {"a", "c"}
    actions = [e.action for e in experiments.workspace_summary(ws).recent_activity]
    assert {"run.tag", "run.trash", "run.restore"} <= set(actions)


def test_purge_removes_runs_artifacts_and_logs(ws: Workspace, tmp_path: Path) -> None:
    gone = run_with_artifact(tmp_path, "gone", "only mine")
    shared_a = run_with_artifact(tmp_path, "shared-a", "same bytes")
    shared_b = run_with_artifact(tmp_path, "shared-b", "same bytes")
    sha_gone = experiments.get_run(ws, gone).artifacts[0].sha256
    sha_shared = experiments.get_run(ws, shared_a).artifacts[0].sha256
    with pytest.raises(InvalidInput, match="not in the trash"):
        experiments.purge_runs(ws, [gone], user="ana")
    experiments.trash_runs(ws, [gone, shared_a], user="ana")
    assert experiments.purge_runs(ws, [gone, shared_a], user="ana") == 2
    assert not ws.blobs.exists(sha_gone)
    assert ws.blobs.exists(sha_shared)  # shared-b still names it
    assert not ws.paths.run_dir(gone).exists()
    assert [r.run_id for r in experiments.search_runs(ws, lifecycle="deleted")] == []
    counts = ws.store.read(
        lambda tx: [
            tx.scalar(f"SELECT count(*) FROM {t} WHERE run_id = ?", [gone])
            for t in ("runs", "metrics", "artifacts", "run_ingest")
        ]
    )
    assert counts == [0, 0, 0, 0]
    assert experiments.get_run(ws, shared_b).artifacts[0].sha256 == sha_shared


def test_bulk_actions_need_runs(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match="Select at least one run"):
        experiments.trash_runs(ws, [], user="ana")
    with pytest.raises(InvalidInput, match="Tag key"):
        experiments.tag_runs(ws, [make_run()], "bad'key", "x", user="ana")
