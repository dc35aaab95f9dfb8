"""The Streamlit pages (scripts run by the router in ``workbench/ui/entry/main.py``). Each
holds layout only and calls services; none is imported as a module."""
