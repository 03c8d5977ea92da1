"""Outcomes Explorer: the Streamlit entry point.

It only routes: every page is listed here (st.navigation), and pages ask framework/ for what
they show. Run with `make run`, which prepares the demo authority first.
"""

import streamlit as st

from app_pages.access import sign_in_page, signed_in
from app_pages.common import showing_demo, warm_up_in_background

st.set_page_config(page_title="Outcomes Explorer", layout="wide")
session = signed_in()  # None until someone signs in (or the session has expired)
pages = {
    "The framework": [
        st.Page(
            "app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True
        ),
        st.Page(
            "app_pages/domain_a.py", title="A. Conditions and culture", icon=":material/groups:"
        ),
        st.Page(
            "app_pages/domain_b.py", title="B. Reaching families", icon=":material/diversity_1:"
        ),
        st.Page("app_pages/domain_c.py", title="C. Valued and involved", icon=":material/forum:"),
        st.Page("app_pages/domain_d.py", title="D. Child outcomes", icon=":material/child_care:"),
    ],
    "Explore": [
        st.Page("app_pages/groups.py", title="Groups side by side", icon=":material/group_work:"),
        st.Page("app_pages/trends.py", title="Trends", icon=":material/timeline:"),
        st.Page("app_pages/journeys.py", title="Journeys", icon=":material/route:"),
        st.Page("app_pages/place.py", title="Place and deprivation", icon=":material/map:"),
    ],
    "Commissioning and funding": [
        st.Page(
            "app_pages/neglect.py", title="Neglect services", icon=":material/volunteer_activism:"
        ),
        st.Page("app_pages/funding.py", title="Funding", icon=":material/payments:"),
        st.Page("app_pages/benchmarking.py", title="Benchmarking", icon=":material/leaderboard:"),
    ],
    "Take away": [
        st.Page("app_pages/meeting_pack.py", title="Meeting pack", icon=":material/print:"),
    ],
    "About the data": [
        st.Page("app_pages/data_loaded.py", title="Data loaded", icon=":material/database:"),
        st.Page("app_pages/glossary.py", title="Glossary", icon=":material/menu_book:"),
    ],
}
# Pages beyond the aggregate views, listed only for the roles allowed them. A page that is not
# listed cannot be opened by its address either (st.navigation serves only the listed pages).
if session is None or session.allows("view_child_level"):
    pages["Children"] = [
        st.Page("app_pages/tracker.py", title="Child-level tracker", icon=":material/checklist:"),
    ]
if session is None or session.allows("read_audit"):
    pages["Administration"] = [
        st.Page(
            "app_pages/admin.py", title="Users and audit", icon=":material/admin_panel_settings:"
        ),
    ]
if session is None:
    # Nobody reaches a page without a session. The pages are registered (hidden) so that the
    # address asked for is kept, and opens once they have signed in; only the sign-in is drawn.
    st.navigation(pages, position="hidden")
    sign_in_page()
    st.stop()
page = st.navigation(pages)  # each page checks the role again and says who is signed in
if showing_demo():
    # Said on every page: the numbers are a fictional authority's until the authority's own
    # returns are loaded (Data loaded → upload, or `python -m framework load`).
    st.info(
        "**Demo:** you are looking at Demoton, a fictional authority made up for the demo. "
        "Load your own returns on the *Data loaded* page.",
        icon=":material/science:",
    )
warm_up_in_background()  # every year's views, worked out ahead in another process (once)
page.run()
