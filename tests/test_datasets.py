"""Dataset versions through every way in: SDK, path, upload; fingerprints, profiles,
contracts, diffs, preview and export, on a real workspace."""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_dataset_version, make_frame
from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.store import datasets as store_datasets
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.workspace import Workspace


def blob_files(ws: Workspace) -> list[Path]:
    return [p for p in ws.paths.blobs.rglob("*") if p.is_file() and p.parent.name != "tmp"]


def test_log_load_and_list_through_the_sdk(ws: Workspace) -> None:
    frame = make_frame(50)
    v1 = wb.log_dataset(frame, "churn", message="March export", tags={"owner": "ana"})
    v2 = wb.log_dataset(make_frame(60, seed=1), "churn", message="April")
    assert (v1.ref, v2.ref, v2.parent_version) == ("churn@v1", "churn@v2", 1)
    assert v1.tags == {"owner": "ana"} and v1.message == "March export"
    assert v1.created_by == "tester" and v1.source == "sdk"
    assert [v.version for v in wb.list_dataset_versions("churn")] == [2, 1]
    assert len(wb.load_dataset("churn")) == 60
    loaded = wb.load_dataset("churn@v1")
    pd.testing.assert_frame_equal(
        loaded.drop(columns="signup").reset_index(drop=True),
        frame.drop(columns="signup").reset_index(drop=True),
        check_dtype=False,
    )
    # DATE comes back as pandas datetime64 (DuckDB's conversion), same days
    assert list(pd.to_datetime(loaded["signup"])) == list(pd.to_datetime(frame["signup"]))
    assert wb.load_dataset("churn@latest").shape == (60, 6)


def test_same_content_makes_no_new_version_and_names_the_match(ws: Workspace) -> None:
    v1 = make_dataset_version(rows=30)
    with pytest.warns(UserWarning, match=r"Same content as churn@v1"):
        again = make_dataset_version(rows=30)
    assert again == v1
    assert len(wb.list_dataset_versions("churn")) == 1


def test_the_same_file_is_recognized_by_its_bytes(ws: Workspace, tmp_path: Path) -> None:
    """A file's sha256 (with its encoding) is kept with the version it made, so the same
    file again is named without being read as a table; other bytes with the same content
    still meet the fingerprint, and are then remembered too."""
    frame = make_frame(60).drop(columns="signup")
    csv, shuffled = tmp_path / "march.csv", tmp_path / "march-shuffled.csv"
    frame.to_csv(csv, index=False)
    frame.sample(frac=1.0, random_state=1).to_csv(shuffled, index=False)
    v1 = datasets.register(ws, csv, "churn").version

    def versions_by_hash() -> dict[str, int]:
        rows = ws.store.read(
            lambda tx: tx.fetchall("SELECT source_hash, version FROM dataset_source_hashes")
        )
        return {h.split(":")[0]: v for h, v in rows} | {"n": len(rows)}

    assert versions_by_hash() == {"utf-8": 1, "n": 1}
    found = ws.store.read(
        lambda tx: store_datasets.find_by_source_hash(
            tx, v1.dataset_id, datasets._source_hash(csv, "utf-8")
        )
    )
    assert found == v1
    again = datasets.register(ws, csv, "churn")
    assert not again.created and again.version == v1
    # Same content, other bytes: recognized by the fingerprint, and its bytes remembered.
    assert datasets.register(ws, shuffled, "churn").version == v1
    # The same bytes read as latin-1 are looked at afresh (same content here, so v1 again).
    assert datasets.register(ws, csv, "churn", encoding="latin-1").version == v1
    assert versions_by_hash()["n"] == 3
    # A changed file is new content: a new version, with its own hash.
    frame.loc[3, "age"] += 1
    frame.to_csv(csv, index=False)
    assert datasets.register(ws, csv, "churn").version.version == 2
    assert versions_by_hash()["n"] == 4


def test_fingerprint_ignores_row_order_and_file_format(ws: Workspace, tmp_path: Path) -> None:
    """The rule: row order and encoding (CSV or Parquet, int32 or int64) do not count;
    values, column names, column order and type families do."""
    frame = make_frame(80).drop(columns="signup")
    v1 = wb.log_dataset(frame, "t")
    # reset_index(drop=True): a shuffled frame's index is data that would be kept as a column
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    csv = tmp_path / "t.csv"
    shuffled.to_csv(csv, index=False)
    parquet = tmp_path / "t.parquet"
    frame.astype({"age": "int32"}).to_parquet(parquet, index=False)
    for source in (shuffled, csv, parquet):
        result = datasets.register(ws, source, "t")
        assert not result.created and result.version == v1, source
    reordered = frame[list(reversed(frame.columns))]
    changed = frame.copy()
    changed.loc[5, "age"] += 1
    assert datasets.register(ws, reordered, "t").created
    assert datasets.register(ws, changed, "t").created


def test_fingerprint_keeps_duplicate_rows_apart(ws: Workspace) -> None:
    base = pd.DataFrame({"a": [1, 2, 2], "b": ["x", "y", "y"]})
    v1 = wb.log_dataset(base, "dups")
    assert v1.duplicate_rows == 1
    fewer = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert wb.log_dataset(fewer, "dups").fingerprint != v1.fingerprint


def test_profile_matches_pandas(ws: Workspace) -> None:
    frame = make_frame(500, seed=4)
    version = wb.log_dataset(frame, "p")
    prof = {p.name: p for p in datasets.get_profile(ws, version)}
    income = prof["income"]
    assert income.family == "float" and income.nulls == frame["income"].isna().sum()
    assert income.mean == pytest.approx(frame["income"].mean())
    assert income.std == pytest.approx(frame["income"].std())
    assert (income.min_value, income.max_value) == (frame["income"].min(), frame["income"].max())
    assert sum(income.hist_counts) == income.count == frame["income"].notna().sum()
    median = income.quantile(0.5)
    assert abs((frame["income"].dropna() <= median).mean() - 0.5) < 0.02  # t-digest rank error
    plan = prof["plan"]
    counts = frame["plan"].value_counts()
    assert dict(zip(plan.top_values, plan.top_counts, strict=True)) == counts.to_dict()
    assert plan.distinct == 3 and plan.distinct_exact
    age = prof["age"]
    assert sum(age.hist_counts) == 500 and len(age.quantiles) == 1001
    assert prof["signup"].family == "date" and prof["signup"].min_text == str(frame.signup.min())
    assert prof["active"].family == "boolean"


def test_contract_is_inferred_then_flags_a_breaking_version(ws: Workspace) -> None:
    make_dataset_version(rows=200)
    revision, spec = datasets.get_contract(ws, "churn")
    rules = {r["name"]: r for r in spec["columns"]}
    assert revision == 1 and spec["key"] == "id"
    assert rules["plan"]["allowed"] == ["basic", "pro", "team"]
    assert rules["age"]["nullable"] is False and rules["income"]["nullable"] is True
    bad = make_frame(200, seed=1)
    bad.loc[0, "plan"] = "platinum"
    bad.loc[1, "age"] = 150
    bad.loc[2, "id"] = bad.loc[3, "id"]
    bad = bad.drop(columns="active")
    result = datasets.register(ws, bad, "churn")
    assert result.created and result.version.contract_passed is False
    failed = {(c.check, c.column): c for c in result.checks if not c.passed}
    assert set(failed) == {
        ("allowed_values", "plan"),
        ("range", "age"),
        ("unique_key", "id"),
        ("required", "active"),
    }
    assert failed[("allowed_values", "plan")].examples == ("platinum",)
    assert failed[("range", "age")].examples == ("150",)
    assert result.version.n_failed_checks == 4
    stored = datasets.get_checks(ws, result.version)[1]
    assert [c for c in stored if not c.passed] == [c for c in result.checks if not c.passed]
    assert wb.load_dataset("churn@v2").shape == (200, 5)  # flagged, still stored


def test_edited_contract_is_a_new_revision_and_rechecks(ws: Workspace) -> None:
    make_dataset_version(rows=100)
    frame = make_frame(100, seed=2)
    frame.loc[0, "plan"] = "enterprise"
    assert wb.log_dataset(frame, "churn").contract_passed is False
    _, spec = datasets.get_contract(ws, "churn")
    for rule in spec["columns"]:
        if rule["name"] == "plan":
            rule["allowed"].append("enterprise")
        if rule["name"] == "age":
            rule["min"], rule["max"] = 0, 120
    assert datasets.save_contract(ws, "churn", spec, note="enterprise plan launched") == 2
    latest = datasets.get_version(ws, "churn")
    failed = [c.message for c in datasets.get_checks(ws, latest)[1] if not c.passed]
    assert latest.contract_passed is True and latest.contract_revision == 2, failed
    with pytest.raises(InvalidInput, match="min 5 is above max 1"):
        spec["columns"][1] |= {"min": 5, "max": 1}
        datasets.save_contract(ws, "churn", spec)
    assert datasets.get_contract(ws, "churn")[0] == 2


def test_contract_editor_round_trip() -> None:
    from workbench.datasets import contracts

    spec = {
        "columns": [
            {
                "name": "a",
                "type": "integer",
                "required": True,
                "nullable": False,
                "min": 0,
                "max": 9,
                "allowed": None,
            },
            {
                "name": "b",
                "type": "string",
                "required": False,
                "nullable": True,
                "min": None,
                "max": None,
                "allowed": ["x", "y"],
            },
        ],
        "key": "a",
        "allow_extra_columns": False,
        "min_rows": 1,
        "max_rows": None,
    }
    back = contracts.from_editor(
        contracts.to_editor(spec), key="a", allow_extra_columns=False, min_rows=1, max_rows=None
    )
    assert back == spec


def test_diff_by_key(ws: Workspace) -> None:
    frame = make_frame(100)
    wb.log_dataset(frame, "churn")
    cur = frame.copy()
    cur.loc[cur["id"] == 5, "plan"] = "team" if cur.loc[4, "plan"] != "team" else "pro"
    cur.loc[cur["id"] == 6, "age"] = 99
    cur = cur[cur["id"] != 7]
    cur = pd.concat([cur, make_frame(2, seed=9).assign(id=[1001, 1002])])
    cur["score"] = 1.0
    cur = cur.astype({"age": "float64"}).reset_index(drop=True)  # the index is not data here
    wb.log_dataset(cur, "churn")
    d = datasets.diff(ws, "churn@v1", "churn@v2")
    r = d.rows
    assert (r.mode, r.key, r.added, r.removed) == ("key", "id", 2, 1)
    assert r.changed == 2 and r.unchanged == 97
    assert sorted(r.added_sample["id"]) == [1001, 1002]
    assert list(r.removed_sample["id"]) == [7]
    assert set(r.changed_sample["key"]) == {"5", "6"}
    assert r.changed_by_column == {"plan": 1, "age": 1}
    changes = {(c.column, c.change) for c in d.schema_changes}
    assert changes == {("score", "added"), ("age", "retyped")}
    assert set(d.profile_changes["column"]) == set(frame.columns)


def test_diff_without_key_counts_multisets(ws: Workspace) -> None:
    a = pd.DataFrame({"x": [1, 1, 2, 3], "y": ["a", "a", "b", "c"]})
    b = pd.DataFrame({"x": [1, 2, 2, 4], "y": ["a", "b", "b", "d"]})
    wb.log_dataset(a, "m")
    wb.log_dataset(b, "m")
    r = datasets.diff(ws, "m@v1", "m@v2").rows
    assert r.mode == "multiset"
    # a - b = {(1,a), (3,c)}; b - a = {(2,b), (4,d)}
    assert (r.removed, r.added) == (2, 2)
    assert sorted(r.added_sample["x"]) == [2, 4]


def test_preview_pages_and_exports(ws: Workspace, tmp_path: Path) -> None:
    frame = make_frame(250)
    version = wb.log_dataset(frame, "churn")
    page = datasets.preview(ws, version, 2, 100)
    assert list(page["id"]) == list(range(201, 251))
    assert datasets.preview(ws, version, 3, 100).empty
    out_csv = datasets.export(ws, "churn@v1", tmp_path / "out.csv")
    out_pq = datasets.export(ws, "churn@v1", tmp_path / "out.parquet")
    assert len(pd.read_csv(out_csv)) == 250
    assert pd.read_parquet(out_pq)["id"].tolist() == list(range(1, 251))
    assert datasets.export_bytes(ws, version, "csv").startswith(b"id,age,income")


def test_upload_spools_and_registers(ws: Workspace) -> None:
    body = make_frame(20).to_csv(index=False).encode()
    result = datasets.register_upload(
        ws, io.BytesIO(body), "march.csv", "churn", size=len(body), message="uploaded"
    )
    assert result.created and result.version.source == "upload"
    assert result.version.source_name == "march.csv"
    assert not any(ws.blobs.tmp_dir.iterdir())


def test_unknown_refs_say_what_exists(ws: Workspace) -> None:
    make_dataset_version(rows=10)
    with pytest.raises(NotFound, match=r"churn@v9 not found; available: v1 to v1"):
        datasets.get_version(ws, "churn@v9")
    with pytest.raises(NotFound, match=r"'nope' not found; available: churn"):
        wb.load_dataset("nope")
    with pytest.raises(InvalidInput, match="not a dataset reference"):
        datasets.get_version(ws, "churn@@v1")


def test_concurrent_registrations_of_the_same_data_make_one_version(ws: Workspace) -> None:
    frame = make_frame(300)
    results, errors = [], []

    def register() -> None:
        try:
            results.append(datasets.register(ws, frame, "race"))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(r.created for r in results) == 1
    assert {r.version.ref for r in results} == {"race@v1"}
    assert len(blob_files(ws)) == 1


def test_failed_write_leaves_no_blob_and_no_rows(ws: Workspace, monkeypatch) -> None:
    make_dataset_version(rows=10)
    before_blobs = blob_files(ws)

    def boom(*args, **kwargs):
        raise RuntimeError("disk went away")

    # The failure strikes inside the transaction, after the version row was inserted.
    monkeypatch.setattr(store_datasets, "set_contract_outcome", boom)
    with pytest.raises(RuntimeError):
        wb.log_dataset(make_frame(10, seed=5), "churn")
    assert blob_files(ws) == before_blobs
    assert [v.version for v in wb.list_dataset_versions("churn")] == [1]
    profiles = ws.store.read(lambda tx: tx.scalar("SELECT count(*) FROM dataset_columns"))
    assert profiles == 6


def test_awkward_column_names_work_everywhere(ws: Workspace) -> None:
    frame = pd.DataFrame(
        {
            'say "hi"': [1, 2, 3],
            "select": ["a", "b", "c"],
            "order by; drop table x": [0.5, 1.5, np.nan],
            "Ünï cødé": [1, 1, 2],
        }
    )
    v1 = wb.log_dataset(frame, "odd")
    assert [p.name for p in datasets.get_profile(ws, v1)] == list(frame.columns)
    frame2 = frame.copy()
    frame2.loc[0, "select"] = "z"
    v2 = wb.log_dataset(frame2, "odd")
    assert v2.contract_passed is False
    assert datasets.diff(ws, "odd@v1", "odd@v2").rows.added == 1
    assert list(wb.load_dataset("odd@v1").columns) == list(frame.columns)


def test_sdk_warns_nothing_for_a_new_version(ws: Workspace) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_dataset_version(rows=5)


def test_diff_of_a_decimal_version_and_a_float_version_of_the_same_values(ws: Workspace) -> None:
    """A DECIMAL column prints 1e16 as 10000000000000000, a DOUBLE as 1e+16: the same
    values must not count as changed rows (they are compared as doubles)."""
    from decimal import Decimal

    values = [1e16, 2.5, 0.125, 2.5]  # no key column: rows compared as multisets
    wb.log_dataset(pd.DataFrame({"x": [Decimal(repr(v)) for v in values]}), "mixed")
    wb.log_dataset(pd.DataFrame({"x": values}), "mixed")
    r = datasets.diff(ws, "mixed@v1", "mixed@v2").rows
    assert r.mode == "multiset"
    assert (r.added, r.removed) == (0, 0), r
