"""Registry benchmark: loading a ~10 MB model by alias (alias lookup, sha256 check, unpickle)
against plain joblib.load of the same file, and REST scoring latency.

    python bench/bench_registry.py
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.ensemble import RandomForestClassifier  # noqa: E402

from tests.live import free_port  # noqa: E402
from workbench import sdk as wb  # noqa: E402
from workbench.registry import models as registry  # noqa: E402
from workbench.registry.serving import build_app  # noqa: E402


def model_of_size(target_mb: float) -> tuple[RandomForestClassifier, pd.DataFrame, bytes]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(4000, 10)), columns=[f"x{i}" for i in range(10)])
    y = (frame["x0"] + rng.normal(size=4000) > 0).astype(int)
    trees = 20
    while True:
        model = RandomForestClassifier(n_estimators=trees, random_state=0).fit(frame, y)
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        if buffer.tell() >= target_mb * 2**20:
            return model, frame, buffer.getvalue()
        trees = int(trees * target_mb * 2**20 / buffer.tell()) + 5


def median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = wb.set_workspace(Path(tmp) / "ws")
        model, frame, blob = model_of_size(10)
        with wb.start_run(experiment="bench", name="big-forest") as run:
            run.log_artifact_bytes(blob, "model.joblib")
        version = registry.register_model(ws, run.run_id, "bench-model")
        registry.set_alias(ws, "bench-model", "champion", version.version)
        path = ws.blobs.path_for(version.sha256)
        plain = median_ms(lambda: joblib.load(path), 7)
        by_alias = median_ms(lambda: registry.load_model(ws, "bench-model@champion"), 7)
        print(
            f"\nRegistry benchmark: a {len(blob) / 2**20:.1f} MB random forest "
            f"({model.n_estimators} trees), median of 7\n"
        )
        print("| load | time | ratio |")
        print("| --- | ---: | ---: |")
        print(f"| joblib.load of the file | {plain:.0f} ms | 1.00x |")
        print(
            f"| load_model('bench-model@champion'): alias, sha256 check, unpickle | "
            f"{by_alias:.0f} ms | {by_alias / plain:.2f}x |"
        )

        import uvicorn

        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                build_app(ws, "bench-model@champion"),
                host="127.0.0.1",
                port=port,
                log_level="warning",
            )
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)

        def post(rows: list[dict]) -> None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/predict",
                json.dumps({"rows": rows}).encode(),
                {"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as resp:
                assert resp.status == 200

        one = json.loads(frame.head(1).to_json(orient="records"))
        thousand = json.loads(frame.head(1000).to_json(orient="records"))
        print("\n| REST scoring (POST /predict, alias resolved per request) | latency |")
        print("| --- | ---: |")
        print(f"| 1 row, median of 50 | {median_ms(lambda: post(one), 50):.1f} ms |")
        print(f"| 1,000 rows, median of 10 | {median_ms(lambda: post(thousand), 10):.1f} ms |")
        server.should_exit = True


if __name__ == "__main__":
    main()
