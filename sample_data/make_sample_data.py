"""Regenerate the sample data (deterministic: the same files every time).

    python sample_data/make_sample_data.py

churn/2026-01.csv ... 2026-04.csv: monthly exports of a subscription business's customers,
3,000 each, labelled with whether they left the next month (a logistic model of tenure,
usage, support calls, contract and plan, with signal enough for a balanced accuracy above
0.70 on held-out rows). January and February come from one world. In March a cheaper
competitor appears: usage falls and support calls rise among basic-plan customers. In
April the plan mix shifts towards basic, and price, not usage, drives who leaves, so a
model trained on January loses accuracy (concept drift, not only data drift), and a dozen
rows carry a negative support-call count that the contract inferred from January
catches. The demo workspace's story is built on these.

classic/: iris, wine and breast cancer, the small datasets scikit-learn ships with it
(read from the installed package, nothing downloaded).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04"]
ROWS = 3000


def month(index: int) -> pd.DataFrame:
    rng = np.random.default_rng(2026_00 + index)
    drift = max(index - 1, 0)  # 0, 0, 1, 2
    plan_p = [[0.35, 0.45, 0.20], [0.35, 0.45, 0.20], [0.40, 0.42, 0.18], [0.55, 0.33, 0.12]]
    plan = rng.choice(["basic", "pro", "team"], ROWS, p=plan_p[index])
    base_fee = pd.Series(plan).map({"basic": 19.0, "pro": 49.0, "team": 99.0}).to_numpy()
    tenure = rng.gamma(2.0, 9.0, ROWS).round().clip(1, 72).astype(int)
    region = rng.choice(["north", "south", "east", "west"], ROWS, p=[0.3, 0.25, 0.25, 0.2])
    contract = rng.choice(["monthly", "annual"], ROWS, p=[0.6, 0.4])
    usage = rng.lognormal(3.2 - 0.25 * drift * (plan == "basic"), 0.5, ROWS).round(1)
    calls = rng.poisson(1.0 + 0.8 * drift * (plan == "basic"), ROWS)
    charges = (base_fee * (1 + rng.normal(0, 0.08, ROWS)) + 0.05 * usage).round(2)
    # Who leaves is a logistic model of the features with clear signal (a model can reach a
    # balanced accuracy well above 0.70 on held-out rows of the same world).
    monthly = contract == "monthly"
    if index < 3:  # short tenure, low usage, many support calls, monthly terms
        score = (
            -0.5
            - 0.09 * tenure
            - 0.06 * usage
            + 1.1 * calls
            + 1.6 * monthly
            + 0.8 * (plan == "basic")
        )
    else:  # April: price decides (the competitor undercuts), usage no longer matters
        score = -2.0 - 0.04 * tenure + 0.05 * charges + 0.35 * calls + 0.6 * monthly
    churned = rng.random(ROWS) < 1 / (1 + np.exp(-score))
    if index == 3:  # April's export has a data-entry bug the contract catches
        calls[rng.choice(ROWS, 12, replace=False)] = -1
    ids = [f"C{index + 1}{i:05d}" for i in range(ROWS)]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "tenure_months": tenure,
            "plan": plan,
            "contract": contract,
            "region": region,
            "monthly_charges": charges,
            "usage_gb": usage,
            "support_calls": calls,
            "churned": churned,
        }
    )


def classic() -> dict[str, pd.DataFrame]:
    from sklearn import datasets

    out = {}
    for name, loader in (
        ("iris", datasets.load_iris),
        ("wine", datasets.load_wine),
        ("breast_cancer", datasets.load_breast_cancer),
    ):
        bunch = loader(as_frame=True)
        frame = bunch.frame.copy()
        frame.columns = [
            str(c).replace(" ", "_").replace("(", "").replace(")", "") for c in frame.columns
        ]
        out[name] = frame
    return out


def main() -> None:
    (HERE / "churn").mkdir(exist_ok=True)
    for i, name in enumerate(MONTHS):
        month(i).to_csv(HERE / "churn" / f"{name}.csv", index=False)
    (HERE / "classic").mkdir(exist_ok=True)
    for name, frame in classic().items():
        frame.to_csv(HERE / "classic" / f"{name}.csv", index=False)
    print(f"wrote {len(MONTHS)} churn months and {len(classic())} classic datasets to {HERE}")


if __name__ == "__main__":
    main()
