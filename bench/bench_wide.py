"""Wide-table benchmark: register CSV files of many columns through the user's paths, with
the peers side by side in the same run.

    python bench/bench_wide.py [--repeat 3]
                               [--sizes 50x300,200x300,500x1000,1000x10000,1000x10000:float]
                               [--dvc-python .venv-dvc/bin/python]

For each size (columns x rows) it writes a CSV (a quarter each of normal floats rounded to
6 decimals, integers 0-999, 4-level text and 5-level integers, like a wide feature table;
with ``:float``, every column a normal float at full precision, 17 significant digits, the
hardest case: each value's text is parsed, and printed again for the fingerprint) and,
``--repeat``
times, interleaved so that every path sees the same machine load, runs each path below in
its own fresh process:

* ``wb.log_dataset(path, name)``: the workbench's SDK call into a fresh workspace (created
  before the clock starts), timed inside the process (what a notebook user waits for;
  interpreter start and imports excluded). It stores a Parquet snapshot, the row-order-free
  fingerprint, the duplicate count, the profile (counts, nulls, NaN/+inf/-inf apart,
  distinct, min/max, mean, std, 1,001-point quantile function, 30-bin histogram, top
  levels), an inferred contract and its check, in the workspace.
* the peer a notebook user has without the workbench, timed the same way (pandas and numpy
  imported before the clock): ``pd.read_csv(path)``, then the closest pandas equivalent of
  that profile: ``df.describe(include="all")`` (count, unique, top, freq, mean, std, min,
  quartiles, max), ``df.isna().sum()``, ``df.nunique()``, the 1,001-point quantile
  function of the numeric columns (``quantile``), a 30-bin ``np.histogram`` of each numeric
  column and ``value_counts()`` of each other column. It does not snapshot the data,
  fingerprint it, count duplicate rows, count NaN and infinities apart (``describe``'s
  mean and std take infinities in), infer or check a contract, or store anything: the
  figures live as long as the kernel, with no history of versions to compare.
* ``pd.read_csv(path)`` alone: the floor under any pandas profile, parsing the file.
* ``workbench datasets add path --name ...``: the command line, wall time of the whole
  command (interpreter start and imports included: about 1.5 s on an idle machine, most of
  it pandas and scipy), into a fresh workspace migrated before the clock starts.
* with ``--dvc-python`` (an interpreter with dvc installed; ``make bench-dvc`` makes
  ``.venv-dvc``): ``dvc add`` of the same CSV, wall time of the whole command, in a fresh
  ``git init`` + ``dvc init`` repository with the file copied in before the clock starts.
  DVC hashes the bytes (md5) and copies them into its cache; no schema, no profile.

It prints one markdown table: for each path the median and the range (min to max) over the
runs, the median per column, and the ratio ours / peer as median and range over the pairs
of the i-th runs (the in-process SDK figure against the in-process pandas rows, the whole
``workbench datasets add`` command against the whole ``dvc add`` command; above 1 the
workbench takes longer). Targets (issue #14): 200 columns under 2 s and 1,000 columns x
10,000 rows under 10 s through ``wb.log_dataset``; the cost grows linearly with the number
of columns. Only the test data is made here with numpy and pandas; the workbench and the
peers run as their users run them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
import workbench as wb
wb.set_workspace(sys.argv[1])
wb.workspace()  # created (schema migrated) before the clock starts
started = time.perf_counter()
version = wb.log_dataset(sys.argv[2], "wide")
print(json.dumps({"seconds": time.perf_counter() - started, "columns": version.n_columns}))
"""
# What a notebook user does by hand for the same figures (see the module docstring).
PANDAS_CALL = """
import json, sys, time
import numpy as np
import pandas as pd
started = time.perf_counter()
df = pd.read_csv(sys.argv[1])
if sys.argv[2] == "profile":
    df.describe(include="all")
    df.isna().sum()
    df.nunique()
    numbers = df.select_dtypes("number")
    numbers.quantile(np.linspace(0.0, 1.0, 1001))
    for name in numbers:
        np.histogram(numbers[name].dropna(), bins=30)
    for name in df.select_dtypes(exclude="number"):
        df[name].value_counts()
print(json.dumps({"seconds": time.perf_counter() - started, "columns": df.shape[1]}))
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
}

# (key, what is timed, the key of the workbench figure it is compared with, or None)
PATHS = (
    ("sdk", "workbench: `wb.log_dataset` (in process)", None),
    ("pandas_profile", "pandas: `read_csv` + profile (in process)", "sdk"),
    ("pandas_read", "pandas: `read_csv` only, the floor (in process)", "sdk"),
    ("cli", "workbench: `workbench datasets add` (whole command)", None),
    ("dvc", "DVC: `dvc add` (whole command)", "cli"),
)


def make_csv(path: Path, columns: int, rows: int, mix: str = "mixed") -> None:
    rng = np.random.default_rng(columns * 100_003 + rows)
    if mix == "float":
        frame = pd.DataFrame(
            rng.normal(size=(rows, columns)), columns=[f"f{j}" for j in range(columns)]
        )
        frame.to_csv(path, index=False)
        return
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


def in_process_seconds(script: str, args: list[str], columns: int, label: str) -> float:
    """Run ``script`` in a fresh interpreter; the seconds it timed itself (imports excluded).
    Raises SystemExit with its stderr if it fails or did not see ``columns`` columns."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT, env=_env()
    )
    if done.returncode != 0:
        raise SystemExit(f"{label} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["columns"] == columns, (label, result)
    return float(result["seconds"])


def sdk_seconds(csv: Path, workspace: Path, columns: int) -> float:
    return in_process_seconds(SDK_CALL, [str(workspace), str(csv)], columns, "log_dataset")


def pandas_seconds(csv: Path, what: str, columns: int) -> float:
    """``what``: "profile" (read_csv and the profile) or "read" (read_csv only)."""
    return in_process_seconds(PANDAS_CALL, [str(csv), what], columns, f"pandas {what}")


def cli_seconds(csv: Path, workspace: Path) -> float:
    script = Path(sys.executable).with_name("workbench")
    subprocess.run(
        [str(script), "--workspace", str(workspace), "db", "upgrade"],
        capture_output=True,
        check=True,
        env=_env(),
    )
    started = time.perf_counter()
    done = subprocess.run(
        [str(script), "--workspace", str(workspace), "datasets", "add", str(csv), "--name", "wide"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"workbench datasets add failed:\n{done.stderr}")
    return seconds


def dvc_seconds(dvc: str, csv: Path, repo: Path) -> float:
    """Wall time of ``dvc add`` of a copy of ``csv`` in a fresh git + DVC repository made
    (and the file copied in) before the clock starts."""
    repo.mkdir()
    env = {**_env(), **GIT_ENV}
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, capture_output=True, check=True)
    subprocess.run([dvc, "init", "-q"], cwd=repo, env=env, capture_output=True, check=True)
    shutil.copyfile(csv, repo / csv.name)
    started = time.perf_counter()
    done = subprocess.run(
        [dvc, "add", "-q", csv.name], cwd=repo, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"dvc add failed:\n{done.stderr}")
    return seconds


def find_dvc(dvc_python: str | None) -> tuple[str | None, str]:
    """The ``dvc`` command next to ``dvc_python`` and its version, or None and why not."""
    if not dvc_python:
        return None, (
            "DVC: not timed (pass `--dvc-python .venv-dvc/bin/python`; "
            "`make bench-dvc` creates that environment)"
        )
    dvc = Path(os.path.abspath(dvc_python)).with_name("dvc")  # run from inside the repos
    if shutil.which("git") is None:
        return None, "DVC: not timed (git is not installed)"
    try:
        done = subprocess.run(
            [str(dvc), "--version"], capture_output=True, text=True, env=_env(), check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"DVC: not timed ({dvc} does not run: {exc})"
    return str(dvc), f"DVC {done.stdout.strip()}"


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "WORKBENCH_USER": "bench",
        "WORKBENCH_INGEST_INTERVAL": "0",
        "DVC_NO_ANALYTICS": "1",
    }


def spread(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} s ({min(times):.2f} to {max(times):.2f})"


def ratio(ours: list[float], peer: list[float]) -> str:
    """ours / peer, run i against run i: the median and the range of the ratios."""
    ratios = [a / b for a, b in zip(ours, peer, strict=True)]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f} to {max(ratios):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--sizes",
        default="50x300,200x300,500x1000,1000x10000,1000x10000:float",
        help="comma-separated COLUMNSxROWS[:float]",
    )
    parser.add_argument("--dvc-python", help="an interpreter with dvc installed")
    args = parser.parse_args()
    sizes = []
    for size in args.sizes.split(","):
        shape, _, mix = size.partition(":")
        columns, rows = (int(n) for n in shape.split("x"))
        sizes.append((columns, rows, mix or "mixed"))
    dvc, dvc_says = find_dvc(args.dvc_python)
    paths = [p for p in PATHS if p[0] != "dvc" or dvc]
    load = os.getloadavg()[0]
    print(
        f"\nWide-table registration (CSV, {os.cpu_count()}-core machine, load average "
        f"{load:.1f} at the start, median and range of {args.repeat} runs interleaved, "
        f"each in a fresh process; {dvc_says})\n"
    )
    print(
        "| columns x rows (CSV) | what is timed | median (range) | per column | "
        "ours / this: median (range) |"
    )
    print("| --- | --- | ---: | ---: | ---: |")
    sdk_medians = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for columns, rows, mix in sizes:
            csv = tmp / f"wide-{columns}x{rows}-{mix}.csv"
            make_csv(csv, columns, rows, mix)
            times: dict[str, list[float]] = {key: [] for key, _, _ in paths}
            for i in range(args.repeat):  # interleaved: every path sees the same load
                run = f"{columns}-{rows}-{mix}-{i}"
                times["sdk"].append(sdk_seconds(csv, tmp / f"ws-sdk-{run}", columns))
                times["pandas_profile"].append(pandas_seconds(csv, "profile", columns))
                times["pandas_read"].append(pandas_seconds(csv, "read", columns))
                times["cli"].append(cli_seconds(csv, tmp / f"ws-cli-{run}"))
                if dvc:
                    times["dvc"].append(dvc_seconds(dvc, csv, tmp / f"dvc-{run}"))
            sdk_medians[(columns, rows, mix)] = statistics.median(times["sdk"])
            size = f"{columns:,} x {rows:,} {mix} ({csv.stat().st_size / 2**20:.1f} MB)"
            for key, label, ours in paths:
                per_column = statistics.median(times[key]) / columns * 1000
                versus = ratio(times[ours], times[key]) if ours else ""
                print(
                    f"| {size} | {label} | {spread(times[key])} | {per_column:.1f} ms | {versus} |",
                    flush=True,
                )
                size = ""
    print(
        "\nours / this: the workbench figure of the same kind (`wb.log_dataset` for the "
        "pandas rows, `workbench datasets add` for DVC) over this row's, run i against run "
        "i; above 1 the workbench takes longer.\n"
        "- workbench: Parquet snapshot, fingerprint, duplicate count, profile (counts, "
        "nulls, NaN/+inf/-inf apart, distinct, min/max, mean, std, 1,001-point quantiles, "
        "histogram, top levels), inferred contract and its check, stored as a version.\n"
        '- pandas profile: `describe(include="all")`, `isna().sum()`, `nunique()`, '
        "1,001-point `quantile` of the numeric columns, a 30-bin `np.histogram` of each, "
        "`value_counts()` of the others. No snapshot, no fingerprint, no duplicate count, "
        "infinities inside mean and std, no contract, nothing stored (no history of "
        "versions).\n"
        "- DVC: md5 of the file's bytes and a copy in its cache; no schema, no profile."
    )
    targets = {(200, 300): 2.0, (1000, 10_000): 10.0}  # issue #14, through wb.log_dataset
    for (columns, rows, mix), seconds in sdk_medians.items():
        limit = targets.get((columns, rows))
        if limit is not None:
            print(
                f"- target (issue #14): {columns:,} x {rows:,} {mix} through `wb.log_dataset` "
                f"under {limit:.0f} s: {seconds:.2f} s, "
                f"{'met' if seconds < limit else 'NOT met'}"
            )


if __name__ == "__main__":
    main()
