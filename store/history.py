"""Metric histories for charts: downsampled per run and key with extremes kept."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from workbench.store.gateway import Tx

COLUMNS = ["run_id", "key", "step", "value"]


def downsampled(
    tx: Tx,
    run_ids: Sequence[str],
    keys: Sequence[str] | None = None,
    *,
    max_points: int = 200,
    steps: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """At most about ``max_points`` points per run and key: the steps are cut into
    ``max_points / 2`` buckets and each bucket keeps its lowest and its highest point, so a
    spike or a dip survives. ``steps`` limits the range (a zoom), refetched at full detail
    when it holds few points. Non-finite values (NaN, inf) are left out of charts."""
    if not run_ids or (keys is not None and not keys):
        return pd.DataFrame(columns=COLUMNS)
    where, params = ["run_id IN (SELECT unnest(?))", "isfinite(value)"], [list(run_ids)]
    if keys is not None:
        where.append("key IN (SELECT unnest(?))")
        params.append(list(keys))
    if steps is not None:
        where.append("step BETWEEN ? AND ?")
        params += [int(steps[0]), int(steps[1])]
    buckets = max(max_points // 2, 1)
    frame = tx.df(
        f"""WITH pts AS (SELECT run_id, key, step, value FROM metrics WHERE {" AND ".join(where)}),
        bounds AS (SELECT run_id, key, min(step) AS lo, max(step) AS hi, count(*) AS n
                   FROM pts GROUP BY ALL),
        b AS (SELECT p.*, CASE WHEN n <= {max_points} THEN step
                     ELSE floor((step - lo) * {buckets} / (hi - lo + 1)) END AS bucket
              FROM pts p JOIN bounds USING (run_id, key))
        SELECT run_id, key, arg_min(step, value) AS s1, min(value) AS v1,
               arg_max(step, value) AS s2, max(value) AS v2
        FROM b GROUP BY run_id, key, bucket""",
        params,
    )
    low = frame[["run_id", "key", "s1", "v1"]].set_axis(COLUMNS, axis=1)
    high = frame[["run_id", "key", "s2", "v2"]].set_axis(COLUMNS, axis=1)
    out = pd.concat([low, high]).drop_duplicates(["run_id", "key", "step"])
    return out.sort_values(["run_id", "key", "step"]).reset_index(drop=True)
