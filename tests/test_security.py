"""Hostile text through every text input and text area of every page (AppTest, which drives
the real page scripts), the runs filter, and the names the services take: nothing crashes,
nothing changes that the input should not change, and no file appears outside the
workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import datasets, experiments, registry, runner
from app import sdk as wb
from app.training import RunSpec
from app.ui import nav
from store.errors import WorkbenchError
from store.workspace import Workspace
from tests.test_pages import app_env, run_page  # noqa: F401 (a fixture)
from tests.test_runner import binary_frame

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
TABLES = ("runs", "params", "metrics", "tags", "datasets", "dataset_versions", "models",
          "model_versions", "users", "drift_reports")  # fmt: skip


def snapshot(ws: Workspace) -> dict[str, int]:
    return ws.store.read(lambda tx: {t: tx.scalar(f"SELECT count(*) FROM {t}") for t in TABLES})


@pytest.fixture
def filled(app_env: Workspace) -> Workspace:  # noqa: F811
    wb.log_dataset(binary_frame(60), "churn")
    wb.log_dataset(binary_frame(70), "churn")
    launch = runner.launch(app_env, RunSpec("churn", "churned", "dummy"), experiment="e",
                           wait=True)  # fmt: skip
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
