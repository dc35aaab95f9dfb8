"""The floor for `bench/bench_pages.py`'s class: a bare Streamlit app with the workbench's
page titles in its sidebar, each page a title, a caption and one small data grid (20 rows x
8 columns), the lightest page that holds a table. The same class walks it in the same
chromium, so what the machine's browsers cost is measured beside what the workbench adds.

    python -m streamlit run bench/floor_app.py
"""

import numpy as np
import pandas as pd
import streamlit as st

TITLES = ["Home", "Start here", "Datasets", "Experiments", "Models", "Drift"]
GRID = pd.DataFrame(
    np.random.default_rng(0).normal(size=(20, 8)).round(3), columns=list("abcdefgh")
)


def page(title: str):
    def draw() -> None:
        st.title(title)
        st.caption("A bare Streamlit page with one data grid.")
        st.dataframe(GRID)

    draw.__name__ = "page_" + title.replace(" ", "_").lower()
    return draw


st.navigation(
    [
        st.Page(page(t), title=t, url_path=t.replace(" ", "").lower(), default=t == "Home")
        for t in TITLES
    ]
).run()
