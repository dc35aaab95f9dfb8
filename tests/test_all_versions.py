"""Every dataset's versions in one read (``datasets.list_all_versions``), not a read per
dataset; and the small dataset rules the pages used to hold (contract status word, the
diff a version starts on, a dataset's version count)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.conftest import make_dataset_version, make_frame
from workbench.datasets import contracts
from workbench.datasets import versions as datasets
from workbench.registry import models as registry
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.gateway import Tx
from workbench.store.snapshots import FAMILIES
from workbench.store.workspace import Workspace
from workbench.training import runner
from workbench.training.task import RunSpec


@contextmanager
def counted(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Count the store's units of work (reads) and SQL statements while the block runs;
    the real store does the work, the counters only pass the calls on."""
    counts = {"reads": 0, "statements": 0}
    read, result = ws.store.read, Tx._result

    def counting_read(work):
        counts["reads"] += 1
        return read(work)

    def counting_result(self, sql, params):
        counts["statements"] += 1
        return result(self, sql, params)

    with monkeypatch.context() as m:
        m.setattr(ws.store, "read", counting_read)
        m.setattr(Tx, "_result", counting_result)
        yield counts


def _register_three(ws: Workspace) -> None:
    make_dataset_version("churn", 50, seed=1)
    make_dataset_version("churn", 60, seed=2)
    make_dataset_version("alpha", 40, seed=3)
    datasets.register(ws, make_frame(30, seed=4), "zeta-scored", source_kind="prediction")


def test_every_version_in_one_read_and_two_statements(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register_three(ws)
    with counted(ws, monkeypatch) as counts:
        found = datasets.list_all_versions(ws)
    assert counts == {"reads": 1, "statements": 2}  # the versions, then their tags
    # the same as the loop it replaces: dataset by dataset (by name), newest first
    looped = [v for d in datasets.list_datasets(ws) for v in datasets.list_versions(ws, d.name)]
    assert found == looped
    assert [v.ref for v in found] == ["alpha@v1", "churn@v2", "churn@v1", "zeta-scored@v1"]
    assert [v.ref for v in datasets.list_all_versions(ws, predictions=False)] == [
        "alpha@v1",
        "churn@v2",
        "churn@v1",
    ]


def test_all_versions_of_an_empty_workspace(ws: Workspace) -> None:
    assert datasets.list_all_versions(ws) == []


def test_lineage_reads_do_not_grow_with_the_datasets(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lineage looked for prediction versions with one read per dataset; now one read
    covers them all, so ten more datasets cost nothing more."""
    from tests.test_runner import binary_frame
    from workbench import sdk as wb

    wb.log_dataset(binary_frame(80), "churn")
    launch = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="e", wait=True)
    version = registry.register_model(ws, launch.run_ids[0], "clf")
    registry.score(ws, version.ref, "churn@v1")
    with counted(ws, monkeypatch) as few:
        nodes, edges = registry.lineage(ws, "clf")
    assert ("clf/1", "churn-scored@v1") in edges and "churn@v1" in nodes
    for i in range(10):
        make_dataset_version(f"more{i}", 20, seed=i)
    with counted(ws, monkeypatch) as many:
        assert registry.lineage(ws, "clf") == (nodes, edges)
    assert many["reads"] == few["reads"]


def test_count_versions(ws: Workspace) -> None:
    assert datasets.count_versions(ws, "churn") == 0
    make_dataset_version("churn", 50, seed=1)
    make_dataset_version("churn", 50, seed=2)
    assert datasets.count_versions(ws, "churn") == 2
    with pytest.raises(InvalidInput):
        datasets.count_versions(ws, "no spaces allowed")


def test_contract_status_and_default_diff(ws: Workspace) -> None:
    v1 = make_dataset_version("churn", 50, seed=1)
    v2 = make_dataset_version("churn", 50, seed=2)
    v3 = make_dataset_version("churn", 5, seed=3)
    versions = datasets.list_versions(ws, "churn")  # newest first
    assert datasets.default_diff(versions, v2.ref) == (v1.ref, v2.ref)
    assert datasets.default_diff(versions, v3.ref) == (v2.ref, v3.ref)
    assert datasets.default_diff(versions, v1.ref) == (v1.ref, v2.ref)  # never backwards
    with pytest.raises(InvalidInput, match="two versions"):
        datasets.default_diff(versions[:1], v3.ref)
    with pytest.raises(NotFound):
        datasets.default_diff(versions, "churn@v9")
    assert datasets.contract_status(datasets.get_version(ws, v1.ref)) == "passed"
    broken = datasets.register(ws, make_frame(50, seed=5).drop(columns="plan"), "churn").version
    assert broken.contract_passed is False and broken.n_failed_checks >= 1
    assert datasets.contract_status(broken) == f"failed ({broken.n_failed_checks})"
    assert contracts.COLUMN_TYPES == FAMILIES


def test_the_datasets_page_imports_no_store_module() -> None:
    """Pages call services: the Datasets page took the contract types from the store."""
    from tests.conftest import ROOT

    text = (ROOT / "pages" / "datasets.py").read_text()
    assert "workbench.store.snapshots" not in text and "FAMILIES" not in text
