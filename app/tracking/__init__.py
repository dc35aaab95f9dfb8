"""Tracking: experiments and runs, the filter language, run event logs and their ingestion, the
file watcher, autologging and the MLflow import."""
