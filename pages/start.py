"""Start here: the demo's story, and a guided path through the pages that show it."""

import streamlit as st

from app import datasets, monitoring, registry, reports
from app.demo import MODEL
from app.ui import data, nav
from app.ui.widgets import user_errors
from app.workspace import is_demo

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

# (page, deep link into it, title, what to look at)
STEPS = [
    (
        nav.DATASETS,
        {"dataset": "churn"},
        "1. The data",
        "Four monthly versions of `churn` with content hashes, "
        "profiles and a contract inferred from January. Open the diff of v1 and v4, and see "
        "why April is flagged.",
    ),
    (
        nav.EXPERIMENTS,
        {"experiment": "churn"},
        "2. The experiments",
        "Two sweeps on January: pick a few runs to "
        "compare parameters, metrics, curves and confusion matrices side by side. Launch a "
        "run of your own from the form.",
    ),
    (
        nav.MODELS,
        None,
        "3. The model",
        f"`{MODEL}`: the champion, the challenger retrained on "
        "April, the alias history, lineage back to the run and the data, and champion "
        "versus challenger through the gate.",
    ),
    (
        nav.DRIFT,
        None,
        "4. Drift",
        "February against January (nothing), March (usage and support calls move, "
        "accuracy slips), April (the model's accuracy falls). The history chart shows the "
        "champion degrading month by month.",
    ),
    (
        nav.ADMIN,
        None,
        "5. The trail",
        "The audit log: every registration, run, alias move, "
        "report and monitor decision, with who and when.",
    ),
]

with user_errors():
    ws = data.workspace()
    if not is_demo(ws.root):
        st.info("This workspace is your own, not the demo. To explore the demo, seed it into "
                "a folder of its own: `workbench --workspace demo-ws demo`, then "
                "`workbench --workspace demo-ws ui`.")  # fmt: skip
    st.markdown(STORY)
    if is_demo(ws.root):
        status = monitoring.status(ws, MODEL) if registry.list_models(ws) else "not seeded"
        versions = len(datasets.list_versions(ws, "churn")) if datasets.list_datasets(ws) else 0
        cols = st.columns(3)
        cols[0].metric("churn versions", versions)
        cols[1].metric("drift reports", reports.count_reports(ws))
        cols[2].metric(f"{MODEL} monitor", status)
    for spec, link, title, text in STEPS:
        with st.container(border=True):
            st.markdown(f"**{title}**  \n{text}")
            st.page_link(nav.page(spec), label=f"Open {spec.title}", query_params=link,
                         icon=":material/arrow_forward:")  # fmt: skip
