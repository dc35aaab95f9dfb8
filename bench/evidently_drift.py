"""Evidently 0.7.23 DataDriftPreset on two Parquet files; prints JSON with seconds and peak
memory. Run it with the Python of its own environment (Evidently needs pandas below 3):

    .venv-evidently/bin/python bench/evidently_drift.py reference.parquet current.parquet
"""

import json
import resource
import sys
import time

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

reference = pd.read_parquet(sys.argv[1])
current = pd.read_parquet(sys.argv[2])
started = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
result = snapshot.dict()
seconds = time.perf_counter() - started
drifted = None
for metric in result.get("metrics", []):
    value = metric.get("value")
    if isinstance(value, dict) and "count" in value:
        drifted = value["count"]
        break
print(
    json.dumps(
        {
            "seconds": seconds,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "drifted": drifted,
        }
    )
)
