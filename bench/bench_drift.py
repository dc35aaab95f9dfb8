"""Drift benchmark: 1,000,000 rows x 20 columns per side (14 numeric, 6 categorical, 5 of
them shifted), the workbench against Evidently 0.7.23's DataDriftPreset on the same files,
each in its own process for a fair peak-memory figure.

    python bench/bench_drift.py [--rows 1000000] [--evidently-python PATH]

The workbench path is end to end from the two Parquet files: register both versions (the
one DuckDB pass that snapshots, fingerprints and profiles them) and run the report from the
profiles. The report alone, once both versions exist, is timed too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]

NUMERIC = [f"n{i}" for i in range(14)]
CATEGORICAL = [f"c{i}" for i in range(6)]


def make(path: Path, rows: int, shifted: bool, seed: float) -> None:
    s = 1 if shifted else 0
    cols = [
        f"random() * 10 + {0.8 * s if i < 3 else 0} AS n{i}"
        if i % 2
        else f"(random() + random() + random()) * {1.3 if s and i < 3 else 1} AS n{i}"
        for i in range(14)
    ]
    cats = [
        f"['a', 'b', 'c', 'd'][1 + floor(random() * {3.4 if s and i < 2 else 4})::INT] AS c{i}"
        for i in range(6)
    ]
    con = duckdb.connect()
    con.execute(f"SELECT setseed({seed})")
    con.execute(
        f"COPY (SELECT {', '.join(cols + cats)} FROM range({rows})) TO '{path}' (FORMAT parquet)"
    )
    con.close()


WORKBENCH = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from workbench.datasets import versions as datasets; from workbench.drift import report as reports
from workbench.store.workspace import Workspace
ws = Workspace.open(Path({ws!r}))
t = time.perf_counter()
datasets.register(ws, Path({ref!r}), "bench")
datasets.register(ws, Path({cur!r}), "bench")
t_report = time.perf_counter()
report = reports.run_report(ws, "bench@v1", "bench@v2")
end = time.perf_counter()
times = []
for _ in range(5):
    s = time.perf_counter(); reports.run_report(ws, "bench@v1", "bench@v2")
    times.append(time.perf_counter() - s)
print(json.dumps({{"seconds": end - t, "report_seconds": sorted(times)[2],
                   "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "drifted": report.n_drifted,
                   "columns": [r.column for r in report.results
                               if r.verdict != "no drift"]}}))
"""


FILES = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from workbench.drift import report as reports
t = time.perf_counter()
results = reports.compare_files(Path({ref!r}), Path({cur!r}))
print(json.dumps({{"seconds": time.perf_counter() - t,
                   "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "columns": [r.column for r in results if r.drifted]}}))
"""


def run_json(code: str) -> dict:
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(run.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--evidently-python", help="a Python with evidently==0.7.23")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref, cur = Path(tmp) / "reference.parquet", Path(tmp) / "current.parquet"
        make(ref, args.rows, False, 0.1)
        make(cur, args.rows, True, 0.2)
        code = WORKBENCH.format(
            root=str(ROOT), ws=str(Path(tmp) / "ws"), ref=str(ref), cur=str(cur)
        )
        ours = run_json(code)
        files = run_json(FILES.format(root=str(ROOT), ref=str(ref), cur=str(cur)))
        print(
            f"\nDrift benchmark: {args.rows:,} rows x 20 columns per side (14 numeric, "
            "6 categorical; 5 shifted: n0, n1, n2, c0, c1)\n"
        )
        print("| tool | time | peak memory | columns called drifted |")
        print("| --- | ---: | ---: | --- |")
        print(
            f"| workbench: register both versions + report | {ours['seconds']:.1f} s | "
            f"{ours['peak_mb']:,.0f} MB | {', '.join(ours['columns'])} |"
        )
        print(
            f"| workbench: the report alone (versions registered) | "
            f"{ours['report_seconds'] * 1000:.0f} ms | | |"
        )
        print(
            f"| workbench: two files, profiled and compared, nothing kept | "
            f"{files['seconds']:.1f} s | {files['peak_mb']:,.0f} MB | "
            f"{', '.join(files['columns'])} |"
        )
        if args.evidently_python:
            out = subprocess.run(
                [
                    args.evidently_python,
                    str(ROOT / "bench" / "evidently_drift.py"),
                    str(ref),
                    str(cur),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            ev = json.loads(out.stdout.splitlines()[-1])
            print(
                f"| Evidently 0.7.23 DataDriftPreset | {ev['seconds']:.1f} s | "
                f"{ev['peak_mb']:,.0f} MB | {ev['drifted']} columns |"
            )
            print(
                f"\ntwo files compared: {ev['seconds'] / files['seconds']:.1f}x faster than "
                f"Evidently with {files['peak_mb'] / ev['peak_mb']:.2f}x its peak memory."
            )
            print(
                f"workbench end to end is {ev['seconds'] / ours['seconds']:.1f}x faster "
                f"with {ours['peak_mb'] / ev['peak_mb']:.2f}x the peak memory; the report "
                f"alone {ev['seconds'] / ours['report_seconds']:,.0f}x faster."
            )


if __name__ == "__main__":
    main()
