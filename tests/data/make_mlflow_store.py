"""Writes tests/data/mlflow.db with real MLflow (run it with a Python that has mlflow,
e.g. `make bench-mlflow` creates .venv-mlflow):

    .venv-mlflow/bin/python tests/data/make_mlflow_store.py

tests/test_mlflow_import.py imports the committed file, so the test needs no MLflow.
"""

import math
import tempfile
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

HERE = Path(__file__).resolve().parent
DB = HERE / "mlflow.db"

if DB.exists():
    DB.unlink()
mlflow.set_tracking_uri(f"sqlite:///{DB}")
artifacts = tempfile.mkdtemp()
client = MlflowClient()
for exp_name in ("churn", "pricing"):
    client.create_experiment(exp_name, artifact_location=f"file://{artifacts}/{exp_name}")

mlflow.set_experiment("churn")
for i, depth in enumerate([4, 8, 12]):
    with mlflow.start_run(run_name=f"rf-{depth}"):
        mlflow.log_params(
            {
                "max_depth": depth,
                "learning_rate": 0.1 * (i + 1),
                "criterion": "gini",
                "bootstrap": True,
                "class_weight": None,
            }
        )
        for step in range(20):
            mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            mlflow.log_metric("auc", 0.6 + 0.01 * step + 0.05 * i, step=step)
        mlflow.set_tags({"owner": "ana" if i % 2 == 0 else "bo", "team": "growth"})
with mlflow.start_run(run_name="diverged"):
    mlflow.log_param("learning_rate", 10.0)
    mlflow.log_metric("loss", 1.0, step=0)
    mlflow.log_metric("loss", math.nan, step=1)
    mlflow.end_run(status="FAILED")
with mlflow.start_run(run_name="deleted-later") as run:
    mlflow.log_metric("auc", 0.5)
client.delete_run(run.info.run_id)

mlflow.set_experiment("pricing")
with mlflow.start_run(run_name="ridge"):
    mlflow.log_params({"alpha": 1.0, "fit_intercept": False})
    mlflow.log_metrics({"rmse": 3.2, "r2": 0.71})
print(f"wrote {DB} with MLflow {mlflow.__version__}")
