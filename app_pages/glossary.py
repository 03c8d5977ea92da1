"""Glossary: the domain and statistical terms used in the app, in plain English (from
docs/glossary.md, the same glossary the code's readers use), searchable."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages.access import require

require()  # signed in, with a role that may see aggregate pages (checked on every run)

GLOSSARY = Path(__file__).resolve().parents[1] / "docs" / "glossary.md"


@st.cache_data
def _terms(text: str) -> list[tuple[str, str]]:
    """(term, meaning) from the glossary's table rows, in alphabetical order."""
    terms = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("**"):
            terms.append((cells[0].strip("*"), cells[1]))
    return sorted(terms, key=lambda t: t[0].lower())


st.title("Glossary")
st.caption("The words this app uses, in plain English.")
terms = _terms(GLOSSARY.read_text(encoding="utf-8"))
wanted = st.text_input("Find a term", placeholder="e.g. interval, re-referral, IDACI")
shown_terms = [
    (term, meaning)
    for term, meaning in terms
    if wanted.lower() in term.lower() or wanted.lower() in meaning.lower()
]
if not shown_terms:
    st.info(f"No term mentions “{wanted}”.")
for term, meaning in shown_terms:
    st.markdown(f"**{term}**  \n{meaning}")
