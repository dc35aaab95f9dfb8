"""The tracking benchmark's workload through MLflow's SQLite store, for a side-by-side ratio.

Run by bench_tracking.py in an interpreter that has mlflow (`make bench-mlflow`):

    python bench/mlflow_ingest.py RUNS PARAMS METRICS STEPS

Uses MLflow's fastest documented path, ``MlflowClient.log_batch`` with up to 1,000
metrics a call, and prints one JSON line of figures. Imports nothing from the workbench.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient


def main() -> None:
    runs, n_params, n_metrics, n_steps = (int(a) for a in sys.argv[1:5])
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(uri)
        exp = client.create_experiment("bench", artifact_location=str(Path(tmp) / "art"))
        started = time.perf_counter()
        for i in range(runs):
            rng = random.Random(i)
            run = client.create_run(exp, run_name=f"run-{i}")
            rid = run.info.run_id
            params = [Param(f"p{j}", str(rng.randint(1, 10) if j % 2 else rng.random()))
                      for j in range(n_params)]  # fmt: skip
            client.log_batch(rid, params=params)
            now = int(time.time() * 1000)
            metrics = [Metric(f"m{k}", (i + step * k) / 1000, now, step)
                       for step in range(n_steps) for k in range(n_metrics)]  # fmt: skip
            for start in range(0, len(metrics), 1000):
                client.log_batch(rid, metrics=metrics[start : start + 1000])
            client.set_terminated(rid)
        seconds = time.perf_counter() - started
        points = runs * n_metrics * n_steps
        t = time.perf_counter()
        frame = mlflow.search_runs(experiment_ids=[exp], max_results=100_000)
        search_ms = (time.perf_counter() - t) * 1000
        assert len(frame) == runs
        print(json.dumps({"version": mlflow.__version__, "seconds": seconds,
                          "points_per_s": points / seconds, "search_ms": search_ms}))  # fmt: skip


if __name__ == "__main__":
    main()
