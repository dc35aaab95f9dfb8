"""Dataset benchmark: register a 1,000,000-row x 20-column CSV (numbers, categories, dates,
nulls) and compare with DuckDB's own floor on the same file, in the same run; then page
through a 10,000,000-row version.

    python bench/bench_datasets.py [--rows 1000000] [--preview-rows 10000000] [--repeat 3]
                                   [--dvc-python .venv-dvc/bin/python]

With ``--dvc-python`` (``make bench-dvc``) it also versions the file twice with DVC and
with the workbench, side by side: first version, the same file again, a second version
(1% of rows changed, 0.4% removed), and the diff of the two.

The floor is what any DuckDB-based tool must at least do: read_csv into a table, COPY it to
Parquet, SUMMARIZE it. Registration does that and more: canonical fingerprint, duplicate
count, full profile (quantile function, histograms, value counts), contract inference and
check, blob hashing, and the metadata transaction. This script imports duckdb for the floor
and the test data only; the workbench itself reaches DuckDB through store/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.datasets import versions as datasets  # noqa: E402
from workbench.store.workspace import Workspace  # noqa: E402

COLUMNS_SQL = """
    i AS customer_id,
    round(random() * 80 + 18) :: INTEGER AS age,
    CASE WHEN random() < 0.05 THEN NULL ELSE round(random() * 90000 + 10000, 2) END AS income,
    random() * 100 AS usage_minutes,
    (random() * 20) :: INTEGER AS support_calls,
    random() AS score_a, random() * 2 - 1 AS score_b, random() * 1000 AS spend,
    CASE WHEN random() < 0.02 THEN NULL ELSE random() * 5 END AS rating,
    (i % 97) AS cohort, random() * 50 AS tenure_months, random() AS discount,
    (random() * 3) :: INTEGER AS devices,
    ['basic', 'pro', 'team', 'enterprise'][1 + (i % 4)] AS plan,
    ['north', 'south', 'east', 'west', 'central'][1 + ((i * 7) % 5)] AS region,
    CASE WHEN random() < 0.1 THEN NULL ELSE 'city-' || (i % 300) :: VARCHAR END AS city,
    (i % 2 = 0) AS autopay,
    DATE '2023-01-01' + (i % 700) :: INTEGER AS signup_date,
    'user' || (i % 50000) :: VARCHAR AS handle,
    random() < 0.27 AS churned
"""


def make_file(path: Path, rows: int, fmt: str) -> None:
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    options = "(HEADER)" if fmt == "csv" else "(FORMAT parquet, COMPRESSION zstd)"
    con.execute(f"COPY (SELECT {COLUMNS_SQL} FROM range({rows}) t(i)) TO '{path}' {options}")
    con.close()


def floor(csv: Path, out: Path) -> float:
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}')")
    con.execute(f"COPY t TO '{out}' (FORMAT parquet)")
    con.execute("SUMMARIZE t").fetchall()
    con.close()
    return time.perf_counter() - started


def second_version(v1: Path, v2: Path) -> None:
    """v1 with 1% of rows changed (spend) and 0.4% removed, in the same order."""
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * REPLACE (CASE WHEN customer_id % 100 = 0 THEN spend + 1
                                              ELSE spend END AS spend)
                         FROM read_csv('{v1}') WHERE customer_id % 250 != 1
                         ORDER BY customer_id) TO '{v2}' (HEADER)""")
    con.close()


def side_by_side_with_dvc(dvc_python: str, tmp: Path, v1: Path) -> None:
    v2 = tmp / "customers-v2.csv"
    second_version(v1, v2)
    ws = Workspace.open(tmp / "ws-dvc")
    ours = {
        "add_first": timed(lambda: datasets.register(ws, v1, "customers"))[0],
        "add_same": timed(lambda: datasets.register(ws, v1, "customers"))[0],
        "add_second": timed(lambda: datasets.register(ws, v2, "customers"))[0],
    }
    ours["diff"], found = timed(
        lambda: datasets.diff(ws, "customers@v1", "customers@v2", key="customer_id")
    )
    done = subprocess.run(
        [dvc_python, str(ROOT / "bench" / "dvc_version.py"), str(v1), str(v2)],
        capture_output=True,
        text=True,
        check=True,
    )
    dvc = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"\nVersioning the same two files, side by side ({dvc['dvc'].split()[-1]} command line, "
        "start-up included; git commits not timed)\n"
    )
    print("| step | workbench | DVC | what you get |")
    print("| --- | ---: | ---: | --- |")
    rows = [
        (
            "first version",
            "add_first",
            "workbench: snapshot, fingerprint, schema, profile, "
            "contract; DVC: md5 + a copy in its cache",
        ),
        ("the same file again", "add_same", "both: recognized, nothing new"),
        ("second version", "add_second", "workbench: as the first, plus the contract check"),
        (
            "diff of the two",
            "diff",
            f"workbench: {found.rows.removed:,} rows removed, "
            f"{found.rows.changed:,} changed, by customer_id; DVC: "
            f"{'modified: ' + ', '.join(m['path'] for m in dvc['diff_says'].get('modified', []))}",
        ),
    ]
    for label, key, what in rows:
        print(f"| {label} | {ours[key]:.2f} s | {dvc[key]:.2f} s | {what} |")


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--preview-rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dvc-python", help="an interpreter with dvc installed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        csv = tmp / "customers.csv"
        make_file(csv, args.rows, "csv")
        size_mb = csv.stat().st_size / 2**20
        floors, registrations = [], []
        for i in range(args.repeat):  # interleaved, so both see the same machine load
            floors.append(floor(csv, tmp / f"floor-{i}.parquet"))
            ws = Workspace.open(tmp / f"ws-{i}")
            seconds, result = timed(lambda ws=ws: datasets.register(ws, csv, "customers"))
            registrations.append(seconds)
            assert result.created
        again, result = timed(lambda: datasets.register(ws, csv, "customers"))
        assert not result.created
        f, r = statistics.median(floors), statistics.median(registrations)
        print(
            f"\nDataset benchmark: {args.rows:,} rows x 20 columns, CSV {size_mb:,.0f} MB "
            f"(2-core machine, median of {args.repeat})\n"
        )
        print("| step | time | vs floor |")
        print("| --- | ---: | ---: |")
        print(f"| DuckDB floor: read_csv + COPY TO parquet + SUMMARIZE | {f:.2f} s | 1.00x |")
        print(
            f"| register a version (snapshot, fingerprint, profile, contract) | {r:.2f} s | "
            f"{r / f:.2f}x |"
        )
        print(
            f"| register the same file again (recognized, no new version) | {again:.2f} s | "
            f"{again / f:.2f}x |"
        )

        if args.dvc_python:
            side_by_side_with_dvc(args.dvc_python, tmp, csv)
            return

        big = tmp / "big.parquet"
        make_file(big, args.preview_rows, "parquet")
        ws = Workspace.open(tmp / "ws-big")
        reg_seconds, result = timed(lambda: datasets.register(ws, big, "big"))
        version = result.version
        print(
            f"\nPaged preview of a {version.n_rows:,}-row version (registered from Parquet "
            f"in {reg_seconds:.1f} s; median of 5 per page, 100 rows per page)\n"
        )
        print("| page | time |")
        print("| --- | ---: |")
        last = (version.n_rows - 1) // 100
        for label, page in (("first", 0), ("middle", last // 2), ("last", last)):
            times = []
            for _ in range(5):
                seconds, frame = timed(lambda p=page: datasets.preview(ws, version, p, 100))
                times.append(seconds)
                assert len(frame) == 100
            print(
                f"| {label} (rows {page * 100 + 1:,}+) | {statistics.median(times) * 1000:.0f} ms |"
            )


if __name__ == "__main__":
    main()
