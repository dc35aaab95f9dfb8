"""Wide-table benchmark: register CSV files of many columns through the user's paths.

    python bench/bench_wide.py [--repeat 3] [--sizes 50x300,200x300,1000x10000]

For each size (columns x rows) it writes a CSV (a quarter each of normal floats, integers
0-999, 4-level text and 5-level integers, like a wide feature table) and registers it as
a new dataset in a fresh workspace (created before the clock starts), ``--repeat``
times, through two doors, each in its own process:

* ``wb.log_dataset(path, name)``: the SDK call, timed inside the process (what a notebook
  user waits for; interpreter start and imports excluded);
* ``workbench datasets add path --name ...``: the command line, wall time of the whole
  command (interpreter start and imports included: about 1.5 s on an idle machine, most
  of it pandas and scipy).

It prints the median and the range (min to max) of each. Targets (issue #14): 200 columns
under 2 s and 1,000 columns x 10,000 rows under 10 s; the cost grows linearly with the
number of columns. Only the test data is made here with numpy and pandas; the workbench
runs as the user runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SDK_CALL = """
import json, sys, time
from app import sdk as wb
wb.set_workspace(sys.argv[1])
wb.workspace()  # created (schema migrated) before the clock starts
started = time.perf_counter()
version = wb.log_dataset(sys.argv[2], "wide")
print(json.dumps({"seconds": time.perf_counter() - started, "columns": version.n_columns}))
"""


def make_csv(path: Path, columns: int, rows: int) -> None:
    rng = np.random.default_rng(columns * 100_003 + rows)
    data = {}
    for j in range(columns):
        kind = j % 4
        if kind == 0:
            data[f"f{j}"] = rng.normal(size=rows).round(6)
        elif kind == 1:
            data[f"i{j}"] = rng.integers(0, 1000, rows)
        elif kind == 2:
            data[f"s{j}"] = rng.choice(["alpha", "beta", "gamma", "delta"], rows)
        else:
            data[f"g{j}"] = rng.integers(0, 5, rows)
    pd.DataFrame(data).to_csv(path, index=False)


def sdk_seconds(csv: Path, workspace: Path, columns: int) -> float:
    done = subprocess.run([sys.executable, "-c", SDK_CALL, str(workspace), str(csv)],
                          capture_output=True, text=True, cwd=ROOT, env=_env())  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"log_dataset failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["columns"] == columns
    return float(result["seconds"])


def cli_seconds(csv: Path, workspace: Path) -> float:
    script = Path(sys.executable).with_name("workbench")
    subprocess.run([str(script), "--workspace", str(workspace), "db", "upgrade"],
                   capture_output=True, check=True, env=_env())  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run([str(script), "--workspace", str(workspace), "datasets", "add",
                           str(csv), "--name", "wide"], capture_output=True, text=True,
                          env=_env())  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"workbench datasets add failed:\n{done.stderr}")
    return seconds


def _env() -> dict[str, str]:
    return {**os.environ, "WORKBENCH_USER": "bench", "WORKBENCH_INGEST_INTERVAL": "0"}


def spread(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} s ({min(times):.2f} to {max(times):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="50x300,200x300,500x1000,1000x10000",
                        help="comma-separated COLUMNSxROWS")  # fmt: skip
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in s.split("x")) for s in args.sizes.split(",")]
    load = os.getloadavg()[0]
    print(f"\nWide-table registration (CSV, {os.cpu_count()}-core machine, load average "
          f"{load:.1f} at the start, median and range of {args.repeat} runs, a fresh workspace "
          "each run)\n")  # fmt: skip
    print("| columns x rows | CSV | wb.log_dataset (in process) | per column | "
          "workbench datasets add (whole command) |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for columns, rows in sizes:
            csv = tmp / f"wide-{columns}x{rows}.csv"
            make_csv(csv, columns, rows)
            sdk, cli = [], []
            for i in range(args.repeat):  # interleaved: both doors see the same load
                sdk.append(sdk_seconds(csv, tmp / f"ws-sdk-{columns}-{rows}-{i}", columns))
                cli.append(cli_seconds(csv, tmp / f"ws-cli-{columns}-{rows}-{i}"))
            per_column = statistics.median(sdk) / columns * 1000
            print(
                f"| {columns:,} x {rows:,} | {csv.stat().st_size / 2**20:.1f} MB | "
                f"{spread(sdk)} | {per_column:.1f} ms | {spread(cli)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
