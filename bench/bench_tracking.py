"""Tracking benchmark: log 200 runs x 20 params x 10 metrics x 100 steps (200,000 points)
through the SDK, then time batched ingestion and the queries the pages make.

    python bench/bench_tracking.py [--runs 200] [--mlflow-python PATH]

Every query is timed the way the app runs it: open the database file, query, close (the
file must not stay open, see docs/architecture.md), and also on an already-open
connection, to show what the open costs. With --mlflow-python, the same data is logged
through MLflow's SQLite store in that interpreter, side by side in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ["WORKBENCH_INGEST_INTERVAL"] = "0"  # the bench times ingestion itself

from workbench import sdk as wb  # noqa: E402
from workbench.store.entities import Condition, OrderBy  # noqa: E402
from workbench.tracking import experiments, ingest  # noqa: E402

N_PARAMS, N_METRICS, N_STEPS = 20, 10, 100


def run_params(i: int) -> dict:
    rng = random.Random(i)
    return {f"p{j}": (rng.randint(1, 10) if j % 2 else rng.random()) for j in range(N_PARAMS)}


def log_runs(n_runs: int) -> tuple[list[str], float, float]:
    """Returns run ids, seconds spent in SDK calls, seconds for the whole logging incl. the
    per-run ingest at end."""
    ids, in_calls = [], 0.0
    started = time.perf_counter()
    for i in range(n_runs):
        run = wb.start_run(experiment="bench", name=f"run-{i}")
        t = time.perf_counter()
        run.log_params(run_params(i))
        for step in range(N_STEPS):
            run.log_metrics({f"m{k}": (i + step * k) / 1000 for k in range(N_METRICS)}, step=step)
        in_calls += time.perf_counter() - t
        run.end()
        ids.append(run.run_id)
    return ids, in_calls, time.perf_counter() - started


def reset_ingestion(ws) -> None:
    """Forget everything ingested so the same logs can be ingested again from scratch."""

    def work(tx) -> None:
        for table in ("metrics", "metric_summary", "params", "tags", "artifacts"):
            tx.execute(f"DELETE FROM {table}")
        tx.execute("UPDATE run_ingest SET byte_offset = 0, last_seq = 0")
        tx.execute("UPDATE runs SET status = 'running', ended_at = NULL")

    ws.store.write(work)


def timed(fn, repeat: int = 15) -> tuple[float, object]:
    fn()  # warm up
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, result


def bench_queries(ws, ids: list[str]) -> list[tuple[str, float, float, str]]:
    """Each query through its service, as pages call it: warm (the instance is open, as
    within one page render) and cold (the instance opened and closed for this call)."""
    conds = [Condition("metrics", "m3", ">", 0.05), Condition("params", "p1", ">=", 3)]
    order = [OrderBy("metrics", "m1", descending=True)]
    ten_runs, ten_keys = ids[:10], [f"m{k}" for k in range(N_METRICS)]
    cases = [
        (
            "filtered + ordered runs query (50 rows)",
            lambda: experiments.search_runs(ws, conditions=conds, order_by=order, limit=50),
            lambda r: f"{len(r)} runs",
        ),
        (
            "all runs as a DataFrame (wide)",
            lambda: experiments.runs_table(ws, limit=100_000),
            lambda r: f"{r.shape[0]} x {r.shape[1]}",
        ),
        (
            "10 runs x 10 metric histories",
            lambda: experiments.metric_history(ws, ten_runs, ten_keys),
            lambda r: f"{len(r):,} points",
        ),
    ]
    out = []
    linger = ws.store.linger
    for name, call, describe in cases:
        ws.store.linger = linger
        warm_ms, result = timed(call)
        ws.store.linger = 0  # close after each call: every call pays the open
        ws.store.close()
        cold_ms, _ = timed(call)
        out.append((name, warm_ms, cold_ms, describe(result)))
    ws.store.linger = linger
    return out


def bench_mlflow(python: str, n_runs: int) -> dict:
    script = ROOT / "bench" / "mlflow_ingest.py"
    args = [python, str(script), str(n_runs), str(N_PARAMS), str(N_METRICS), str(N_STEPS)]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--mlflow-python", help="a Python with mlflow installed")
    args = parser.parse_args()
    points = args.runs * N_METRICS * N_STEPS

    with tempfile.TemporaryDirectory() as tmp:
        ws = wb.set_workspace(Path(tmp) / "ws")
        ids, in_calls, total = log_runs(args.runs)
        reset_ingestion(ws)
        t = time.perf_counter()
        result = ingest.sync(ws)
        ingest_s = time.perf_counter() - t
        assert result.points == points, result
        queries = bench_queries(ws, ids)
        db_mb = ws.paths.db.stat().st_size / 1e6

    print(
        f"\nTracking benchmark: {args.runs} runs x {N_PARAMS} params x {N_METRICS} metrics "
        f"x {N_STEPS} steps = {points:,} points (2-core machine, median of 15)\n"
    )
    print("| step | time | rate |")
    print("| --- | ---: | ---: |")
    print(f"| SDK logging calls only | {in_calls:.2f} s | {points / in_calls:,.0f} points/s |")
    print(
        f"| SDK end to end (start, log, end with its own ingest) | {total:.2f} s | "
        f"{points / total:,.0f} points/s |"
    )
    print(
        f"| batched ingest of all {args.runs} event logs | {ingest_s:.2f} s | "
        f"{points / ingest_s:,.0f} points/s |"
    )
    print(f"\ndatabase size after ingest: {db_mb:.1f} MB\n")
    print("| query (through its service) | warm | cold: open + query + close | result |")
    print("| --- | ---: | ---: | --- |")
    for name, warm, cold, what in queries:
        print(f"| {name} | {warm:.1f} ms | {cold:.1f} ms | {what} |")

    if args.mlflow_python:
        ml = bench_mlflow(args.mlflow_python, args.runs)
        ratio = (points / ingest_s) / ml["points_per_s"]
        print(
            f"\nMLflow {ml['version']} (SQLite store, MlflowClient.log_batch, 1,000 metrics "
            f"a batch): {ml['seconds']:.1f} s, {ml['points_per_s']:,.0f} points/s"
        )
        print(f"workbench batched ingest / MLflow: {ratio:.0f}x faster")
        e2e = (points / total) / ml["points_per_s"]
        print(f"workbench SDK end to end / MLflow: {e2e:.1f}x faster")
        print(f"MLflow: all runs as a DataFrame (search_runs): {ml['search_ms']:.0f} ms")


if __name__ == "__main__":
    main()
