"""Bad data gets one clear message and leaves the workspace exactly as it was."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import PYTHON, ROOT, make_dataset_version, subprocess_env
from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace

TABLES = (
    "datasets",
    "dataset_versions",
    "dataset_columns",
    "dataset_tags",
    "dataset_contracts",
    "contract_results",
    "audit_events",
)


def state(ws: Workspace) -> tuple:
    """Everything a registration could leave behind: rows, blobs, temp files."""
    counts = ws.store.read(lambda tx: tuple(tx.scalar(f"SELECT count(*) FROM {t}") for t in TABLES))
    files = sorted(str(p.relative_to(ws.root)) for p in ws.paths.blobs.rglob("*") if p.is_file())
    return counts, files


@pytest.fixture
def seeded(ws: Workspace) -> Workspace:
    make_dataset_version(rows=20)  # bad input must not disturb what is there
    return ws


CSV_CASES = {
    "empty.csv": (b"", "is empty (0 bytes)"),
    "header.csv": (b"a,b,c\n", "has a header but no data rows"),
    "ragged.csv": (b"a,b,c\n1,2,3\n4,5\n6,7,8\n", "line 3 has 2 fields but the header has 3"),
    "binary.csv": (bytes(range(256)) * 40, "looks like a binary file"),
    "latin1.csv": ("name,city\nJosé,München\n".encode("latin-1"), "is not valid utf-8 text"),
    "dupes.csv": (b"a,b,a\n1,2,3\n", "duplicate column names: a"),
    "dupes-case.csv": (b"id,ID\n1,2\n", "duplicate column names: id/ID"),
    "blank-name.csv": (b"a,,c\n1,2,3\n", "column 2 has no name"),
    "zero.parquet": (b"", "is empty (0 bytes); it is not a Parquet file"),
    "broken.parquet": (b"PAR1 this is not really parquet", "could not be read as Parquet"),
    "sheet.xlsx": (b"PK\x03\x04", "unsupported file type '.xlsx'"),
}


@pytest.mark.parametrize("filename", CSV_CASES)
def test_bad_files_are_refused_cleanly(seeded: Workspace, tmp_path: Path, filename: str) -> None:
    body, message = CSV_CASES[filename]
    path = tmp_path / filename
    path.write_bytes(body)
    before = state(seeded)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        datasets.register(seeded, path, "churn")
    with pytest.raises(InvalidInput):
        datasets.register_upload(seeded, io.BytesIO(body), filename, "churn", size=len(body))
    assert state(seeded) == before


def test_latin1_is_read_when_asked(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,city\nJosé,München\n".encode("latin-1"))
    result = datasets.register(ws, path, "people", encoding="latin-1")
    assert wb.load_dataset("people").iloc[0].tolist() == ["José", "München"]
    assert result.created


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "..", "", " churn", "x" * 101, "churn@v2", "c..d"]
)
def test_bad_dataset_names(seeded: Workspace, name: str) -> None:
    before = state(seeded)
    with pytest.raises(InvalidInput, match="Dataset name"):
        wb.log_dataset(pd.DataFrame({"a": [1]}), name)
    assert state(seeded) == before


def test_upload_over_the_limit(seeded: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_UPLOAD_MB", "0.001")
    body = b"a,b\n" + b"1,2\n" * 1000
    before = state(seeded)
    with pytest.raises(InvalidInput, match=r"big.csv is 3.9 KB; uploads are limited to 1.0 KB"):
        datasets.register_upload(seeded, io.BytesIO(body), "big.csv", "churn", size=len(body))
    assert state(seeded) == before


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"a": []}), "no data rows"),
        (pd.DataFrame({1: [1], 2: [2]}), "column names that are not strings"),
        (
            pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])),
            "multi-level column names",
        ),
        (pd.DataFrame({"a": [[1, 2], [3]]}), "nested type"),
        (pd.DataFrame({"a": [1], "A": [2]}), "duplicate column names"),
        ("not a frame.csv", "No such file: not a frame.csv. Check the path."),
    ],
)
def test_bad_frames(seeded: Workspace, frame, message: str) -> None:
    before = state(seeded)
    with pytest.raises(InvalidInput, match=message):
        wb.log_dataset(frame, "churn")
    assert state(seeded) == before


def test_bad_tags_and_messages(seeded: Workspace) -> None:
    before = state(seeded)
    with pytest.raises(InvalidInput, match="Tag key"):
        wb.log_dataset(pd.DataFrame({"a": [1]}), "churn", tags={"bad'key": "x"})
    with pytest.raises(InvalidInput, match="message"):
        wb.log_dataset(pd.DataFrame({"a": [1]}), "churn", message="x" * 10_001)
    assert state(seeded) == before


def test_a_type_change_after_the_sniffer_sample_is_read(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("a,b\n" + "1,x\n" * 30_000 + "oops,y\n")
    version = datasets.register(ws, path, "late").version
    assert version.n_rows == 30_001
    assert datasets.get_profile(ws, version)[0].family == "string"


def test_semicolon_and_tab_files(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "semi.csv").write_text("a;b\n1;x\n2;y\n")
    (tmp_path / "tabs.tsv").write_text("a\tb\n1\tx\n2\ty\n")
    semi = datasets.register(ws, tmp_path / "semi.csv", "semi").version
    tabs = datasets.register(ws, tmp_path / "tabs.tsv", "semi")
    assert semi.n_columns == 2 and not tabs.created  # same content, other delimiter


@pytest.mark.parametrize(
    "column, message",
    [
        (pd.period_range("2024-01", periods=3, freq="M"), "df['c'] = df['c'].dt.to_timestamp()"),
        (pd.interval_range(0, 3), "df['c_left'] = df['c'].array.left"),
        (pd.Series([1 + 2j, 3j, 1]), "np.real(df['c']) and np.imag(df['c'])"),
        (pd.arrays.SparseArray([0, 0, 1]), "df['c'] = df['c'].sparse.to_dense()"),
        (
            pd.Categorical(pd.period_range("2024-01", periods=3, freq="M")),
            "df['c'] = df['c'].astype(str)",
        ),
    ],
)
def test_pandas_types_duckdb_cannot_read(seeded: Workspace, column, message: str) -> None:
    before = state(seeded)
    with pytest.raises(InvalidInput, match="is not supported; ") as caught:
        wb.log_dataset(pd.DataFrame({"c": column}), "churn")
    assert message in str(caught.value) and "mixed text" not in str(caught.value)
    assert state(seeded) == before


def test_a_parquet_duration_is_an_interval_as_a_timedelta_is(ws: Workspace, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for unit in ("s", "ms", "us", "ns"):
        path = tmp_path / f"dur_{unit}.parquet"
        values = {
            "s": [1, 2],
            "ms": [1000, 2000],
            "us": [10**6, 2 * 10**6],
            "ns": [10**9, 2 * 10**9],
        }[unit]
        pq.write_table(pa.table({"d": pa.array(values, type=pa.duration(unit))}), path)
        from_file = wb.log_dataset(path, f"file_{unit}")
        assert [p.dtype for p in datasets.get_profile(ws, from_file)] == ["INTERVAL"]
        assert wb.load_dataset(f"file_{unit}")["d"].tolist() == [
            pd.Timedelta(seconds=1),
            pd.Timedelta(seconds=2),
        ]
    frame = pd.DataFrame({"d": pd.to_timedelta([1, 2], unit="s")})
    assert wb.log_dataset(frame, "frame").fingerprint == from_file.fingerprint


def test_messages_fit_what_was_given(ws, tmp_path, capsys) -> None:
    """Found by a newcomer: CR-only line endings got Python's csv error ("new-line character
    seen in unquoted field - do you need to open the file in universal-newline mode?"), a
    DataFrame with no columns was told to "give each column one type", a DataFrame column
    named "" to fix its "header row", one row read "1 rows x 1 columns", and a failed check
    without examples ended in a bare "e.g. "."""
    from workbench.cli.main import main

    (tmp_path / "mac.csv").write_bytes(b"a,b\r1,2\r3,4\r")
    assert main(["datasets", "add", str(tmp_path / "mac.csv"), "--name", "mac"]) == 1
    said = capsys.readouterr().err
    assert "carriage return alone" in said and "universal-newline" not in said
    with pytest.raises(InvalidInput, match="has no columns"):
        wb.log_dataset(pd.DataFrame(), "empty")
    with pytest.raises(InvalidInput, match=r"in the column names \(df.columns\)"):
        wb.log_dataset(pd.DataFrame({"": [1]}), "blank")
    one = wb.log_dataset(pd.DataFrame({"a": [1]}), "one")
    wb.log_dataset(pd.DataFrame({"a": [None]}, dtype="Int64"), "one")  # breaks not_null
    assert main(["datasets", "show", "one@v2"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("one@v2: 1 row x 1 column,")
    assert "failed not_null" in shown and not any(
        line.rstrip().endswith("e.g.") for line in shown.splitlines()
    )
    assert one.ref == "one@v1" and datasets.list_datasets(ws)[0].name == "one"


def test_a_comment_line_above_the_header_is_named(ws: Workspace, tmp_path: Path) -> None:
    """A `# comment` first line was reported as a delimiter problem ("the header ['#
    comment'] was read as ['a', 'b']; check the delimiter"): the message names the comment."""
    source = tmp_path / "commented.csv"
    source.write_text("# exported 2026-11-30\na,b\n1,2\n")
    with pytest.raises(InvalidInput) as caught:
        datasets.register(ws, source, "c")
    assert "starts with a comment line ('# exported 2026-11-30')" in str(caught.value)
    assert "delimiter" not in str(caught.value)
    assert datasets.list_datasets(ws) == []


def test_a_header_longer_than_the_sniffed_sample_is_read_whole(ws: Workspace, tmp_path) -> None:
    """A newcomer's find: a valid CSV whose header row is longer than 64 KiB (here 1,150
    long column names) was refused, "the header [...] was read as [...]" (15,000 columns:
    "duplicate column names: c10"), because the header was parsed from the first 64 KiB
    only and its last name was cut."""
    names = [f"a_long_descriptive_column_name_for_a_wide_table_{i:05d}_xyzw" for i in range(1150)]
    rows = [",".join(names), ",".join(str(i % 7) for i in range(1150)), ",".join("1" * 1150)]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(rows) + "\n")
    assert len(rows[0].encode()) > 65536
    datasets.register(ws, path, "wide")
    version = datasets.get_version(ws, "wide")
    assert [p.name for p in datasets.get_profile(ws, version)] == names
    assert version.n_rows == 2


ZEROS = """
import resource, sys
from pathlib import Path
from workbench.datasets import versions as datasets
from workbench.workspaces import open_workspace
from workbench.store.errors import InvalidInput
ws = open_workspace(None)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    datasets.register(ws, Path(sys.argv[1]), "zeros")
except InvalidInput as exc:
    print(exc)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_file_of_zeros_is_refused_on_its_first_bytes(ws: Workspace, tmp_path) -> None:
    """A 300 MB file of zeros (sparse: it takes no disk) named .csv has no line end, so the
    header read went on to the end of the file, copying what it had at every step: 84 s and
    716 MB before "binary file". Its first bytes are enough now (in its own process, so
    that its peak memory is its own)."""
    zeros = tmp_path / "zeros.csv"
    with zeros.open("wb") as fh:
        fh.truncate(300 * 2**20)
    ws.store.close()
    out = subprocess.run(
        [PYTHON, "-c", ZEROS, str(zeros)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=subprocess_env(ws.root),
        timeout=300,
    )
    message, grown_kib = out.stdout.strip().splitlines()
    assert "looks like a binary file" in message, out.stdout + out.stderr
    assert int(grown_kib) < 64 * 1024  # the old read held the whole file, twice over
    assert datasets.list_datasets(ws) == []
