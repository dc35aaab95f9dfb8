"""Run the Streamlit server in this process (``workbench ui``)."""

from __future__ import annotations

import faulthandler
import signal
import sys
from pathlib import Path


def serve(main_script: Path, flags: list[str]) -> int:
    """Streamlit's own command line, in this process: Ctrl-C and SIGTERM reach its handlers
    and stop the server (the watcher started before it runs on daemon threads).
    ``main_script`` is the app's entry page, ``flags`` Streamlit options such as
    ``["--server.port", "8501"]``. Streamlit's command line (a click command) ends by
    raising SystemExit with its exit code, which this lets through. ``kill -USR1 PID``
    prints every thread's stack to the server's output."""
    from streamlit.web import cli as streamlit_cli

    # `kill -USR1 PID` prints every thread's stack to the server's output: how a hung page
    # is diagnosed on a shared instance (the soak test does it when a page never answers).
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    sys.argv = ["streamlit", "run", str(main_script), *flags]
    return streamlit_cli.main()
