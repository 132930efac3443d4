"""Streamlit entry point: ``streamlit run app.py -- --db PATH`` (or env PLANNER_DB).

Thin on purpose: page config, the session's store path, the shared sidebar and
``st.navigation`` over the page modules in app_pages/.
"""

import streamlit as st

from app_pages import state  # light: pandas, DuckDB and the solver load in the pages

st.set_page_config(
    page_title="LLM inference energy planner", page_icon=":material/bolt:", layout="wide"
)
state.init_session()

PAGES = [
    st.Page("app_pages/planner_page.py", title="Planner", icon=":material/route:", default=True),
    st.Page("app_pages/tradeoffs_page.py", title="Trade-offs", icon=":material/show_chart:"),
    st.Page("app_pages/capacity_page.py", title="Capacity", icon=":material/dns:"),
    st.Page("app_pages/models_page.py", title="Models", icon=":material/functions:"),
    st.Page("app_pages/measurements_page.py", title="Measurements", icon=":material/science:"),
    st.Page("app_pages/export_page.py", title="Export", icon=":material/download:"),
]
navigation = st.navigation(PAGES)
state.sidebar(state.measurement_count())
navigation.run()
