"""Start here: the demo's story, and a guided path through the pages that show it."""

import streamlit as st

from workbench.datasets import versions as datasets
from workbench.demo import GUIDED_STEPS, MODEL
from workbench.drift import monitoring
from workbench.drift import report as reports
from workbench.registry import models as registry
from workbench.ui import data, nav
from workbench.ui.widgets import user_errors
from workbench.workspaces import is_demo

st.title("Start here")

STORY = """
**The story.** A subscription business exports its customers every month, with whether
each one left the month after. In January a data scientist trains a churn model and ships
the best of twenty runs as the **champion**. February looks like January. In March a
cheaper competitor launches: customers on the basic plan use the service less and call
support more. In April the plan mix tips towards basic, and price, not usage, decides who
leaves, so the champion's accuracy drops. April's export also carries a data-entry bug.
The workbench sees all of it, and closes the loop: drift fires, a **challenger** is
retrained on April, and the promotion gate decides whether it may replace the champion.
"""

PAGES = {
    spec.title: spec for spec in (nav.DATASETS, nav.EXPERIMENTS, nav.MODELS, nav.DRIFT, nav.ADMIN)
}

with user_errors():
    ws = data.workspace()
    if not is_demo(ws.root):
        st.info(
            "This workspace is your own, not the demo. To explore the demo, seed it into "
            "a folder of its own: `workbench --workspace demo-ws demo`, then "
            "`workbench --workspace demo-ws ui`."
        )
    st.markdown(STORY)
    if is_demo(ws.root):
        status = monitoring.status(ws, MODEL) if registry.list_models(ws) else "not seeded"
        versions = datasets.count_versions(ws, "churn")
        cols = st.columns([1, 1, 2])  # the monitor's status is a phrase: room for it
        cols[0].metric("churn versions", versions)
        cols[1].metric("drift reports", reports.count_reports(ws))
        cols[2].metric(f"{MODEL} monitor", status)
    for page_title, link, title, text in GUIDED_STEPS:
        spec = PAGES[page_title]
        with st.container(border=True):
            st.markdown(f"**{title}**  \n{text}")
            st.page_link(
                nav.page(spec),
                label=f"Open {spec.title}",
                query_params=link,
                icon=":material/arrow_forward:",
            )
