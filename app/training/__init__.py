"""Training: tasks, the estimator catalogue, launch defaults and the runner (the only wing that
imports scikit-learn at module level)."""
