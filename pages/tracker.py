"""Child-level tracker (analysts only): one row per child of a cohort, with a RAG rating."""

import streamlit as st

from pages.access import record, require

require("view_child_level", "The child-level tracker")
record("child_level_view", page="tracker")
st.title("Child-level tracker")
