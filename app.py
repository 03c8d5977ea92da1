"""Outcomes Explorer: the Streamlit entry point.

It only routes: every page is listed here (st.navigation), and pages ask framework/ for what
they show. Run with `make run`, which prepares the demo authority first.
"""

import streamlit as st

st.set_page_config(page_title="Outcomes Explorer", layout="wide")

pages = [
    st.Page("pages/data_loaded.py", title="Data loaded", icon=":material/database:", default=True),
    st.Page("pages/place.py", title="Place and deprivation", icon=":material/map:"),
]
st.navigation(pages).run()
