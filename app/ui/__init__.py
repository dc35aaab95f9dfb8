"""Streamlit helpers shared by the pages: cached reads, charts, error display."""
