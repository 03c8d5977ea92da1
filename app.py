"""Outcomes Explorer: the Streamlit entry point.

It only routes: every page is listed here (st.navigation), and pages ask framework/ for what
they show. Run with `make run`, which prepares the demo authority first.
"""

import streamlit as st

from pages.access import sign_in_page, signed_in
from pages.common import showing_demo, warm_up_in_background

st.set_page_config(page_title="Outcomes Explorer", layout="wide")
# Nobody reaches a page without a session: until then the sign-in is the app's only page,
# whatever address was asked for.
session = signed_in()
if session is None:
    st.navigation([st.Page(sign_in_page, title="Sign in", icon=":material/login:")]).run()
    st.stop()
pages = {
    "The framework": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/domain_a.py", title="A. Conditions and culture", icon=":material/groups:"),
        st.Page("pages/domain_b.py", title="B. Reaching families", icon=":material/diversity_1:"),
        st.Page("pages/domain_c.py", title="C. Valued and involved", icon=":material/forum:"),
        st.Page("pages/domain_d.py", title="D. Child outcomes", icon=":material/child_care:"),
    ],
    "Explore": [
        st.Page("pages/groups.py", title="Groups side by side", icon=":material/group_work:"),
        st.Page("pages/trends.py", title="Trends", icon=":material/timeline:"),
        st.Page("pages/journeys.py", title="Journeys", icon=":material/route:"),
        st.Page("pages/place.py", title="Place and deprivation", icon=":material/map:"),
    ],
    "Commissioning and funding": [
        st.Page("pages/neglect.py", title="Neglect services", icon=":material/volunteer_activism:"),
        st.Page("pages/funding.py", title="Funding", icon=":material/payments:"),
        st.Page("pages/benchmarking.py", title="Benchmarking", icon=":material/leaderboard:"),
    ],
    "Take away": [
        st.Page("pages/meeting_pack.py", title="Meeting pack", icon=":material/print:"),
    ],
    "About the data": [
        st.Page("pages/data_loaded.py", title="Data loaded", icon=":material/database:"),
        st.Page("pages/glossary.py", title="Glossary", icon=":material/menu_book:"),
    ],
}
# Pages beyond the aggregate views, listed only for the roles allowed them. A page that is not
# listed cannot be opened by its address either (st.navigation serves only the listed pages).
if session.allows("view_child_level"):
    pages["Children"] = [
        st.Page("pages/tracker.py", title="Child-level tracker", icon=":material/checklist:"),
    ]
if session.allows("read_audit"):
    pages["Administration"] = [
        st.Page("pages/admin.py", title="Users and audit", icon=":material/admin_panel_settings:"),
    ]
page = st.navigation(pages)  # each page checks the role again and says who is signed in
if showing_demo():
    # Said on every page: the numbers are a fictional authority's until the authority's own
    # returns are loaded (Data loaded → upload, or `python -m framework load`).
    st.info(
        "**Demo:** you are looking at Demoton, a fictional authority made up for the demo. "
        "Load your own returns on the *Data loaded* page.",
        icon=":material/science:",
    )
page.run()
warm_up_in_background()  # the next pages' views, worked out while this one is read
