"""The tracking benchmark's workload through MLflow's SQLite store, for a side-by-side ratio.

Run by bench_tracking.py in an interpreter that has mlflow (`make bench-mlflow`):

    python bench/mlflow_ingest.py RUNS PARAMS METRICS STEPS

Uses MLflow's fastest documented path (``mlflow_store.log_runs``: ``log_batch`` with up
to 1,000 metrics a call), and prints one JSON line of figures. Imports nothing from the
workbench.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient
from mlflow_store import log_runs  # bench/ is this script's folder, first on sys.path


def main() -> None:
    runs, n_params, n_metrics, n_steps = (int(a) for a in sys.argv[1:5])
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(uri)
        exp = client.create_experiment("bench", artifact_location=str(Path(tmp) / "art"))
        started = time.perf_counter()
        log_runs(client, exp, runs, n_params, n_metrics, n_steps)
        seconds = time.perf_counter() - started
        points = runs * n_metrics * n_steps
        t = time.perf_counter()
        frame = mlflow.search_runs(experiment_ids=[exp], max_results=100_000)
        search_ms = (time.perf_counter() - t) * 1000
        assert len(frame) == runs
        print(
            json.dumps(
                {
                    "version": mlflow.__version__,
                    "seconds": seconds,
                    "points_per_s": points / seconds,
                    "search_ms": search_ms,
                }
            )
        )


if __name__ == "__main__":
    main()
