"""The lock-fairness workload (tests/fairness.py) on MLflow's SQLite store, for
bench_fairness.py's side-by-side. Run in an interpreter that has mlflow:

    python bench/mlflow_fairness.py KIND INDEX SECONDS TRACKING_URI

KIND is logger (loops ``with mlflow.start_run(): log 20 metrics``), registrar (loops a run
that logs a new 200-row frame with ``mlflow.log_input``) or reader (loops
``mlflow.search_runs(max_results=100)``). Prints one JSON line: operations completed,
errors by type, p95 seconds per operation. Imports nothing from the workbench.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import mlflow
import numpy as np
import pandas as pd


def main() -> None:
    kind, index, seconds, uri = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    warnings.simplefilter("ignore")
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name("fairness")
    experiment_id = experiment.experiment_id
    rng = np.random.default_rng(index)
    done, errors, latencies = 0, {}, []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        began = time.monotonic()
        try:
            if kind == "logger":
                with mlflow.start_run(experiment_id=experiment_id, run_name=f"p{index}-{done}"):
                    for k in range(20):
                        mlflow.log_metric(f"m{k}", float(k), step=0)
            elif kind == "registrar":
                frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.integers(0, 9, 200)})
                with mlflow.start_run(experiment_id=experiment_id, run_name=f"d{index}-{done}"):
                    mlflow.log_input(mlflow.data.from_pandas(frame, name=f"fair{index}"))
            else:
                mlflow.search_runs(experiment_ids=[experiment_id], max_results=100)
            done += 1
            latencies.append(time.monotonic() - began)
        except Exception as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            try:
                mlflow.end_run("FAILED")
            except Exception:
                pass
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0
    print(
        json.dumps(
            {
                "kind": kind,
                "index": index,
                "operations": done,
                "errors": errors,
                "p95_operation_s": round(p95, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
