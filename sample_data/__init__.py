"""The demo's data, installed as ``workbench.sample_data``: three monthly churn exports and
three classic tables (``make_sample_data.py`` made them; ``workbench demo`` seeds them)."""
