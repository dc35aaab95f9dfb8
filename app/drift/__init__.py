"""Drift: statistics, reports (stored and exported), model drift and monitoring."""
