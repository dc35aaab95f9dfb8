"""MLOps Workbench services: plain Python, never Streamlit. Pages, the CLI and the notebook
SDK (``from app import sdk as wb``) all call these."""
