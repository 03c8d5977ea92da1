"""The meeting pack's pages for commissioners and corporate leaders: benchmarking, funding
context and neglect services, made from the same engine views and readable tables as the app's
pages (framework/readable.py), so the pack says what the pages say."""

from __future__ import annotations

import pandas as pd

from framework import readable
from framework.engine.funding import CAVEAT
from framework.formatting import money
from framework.meeting_pack import PackSection

ALL_SERVICES, ALL_PROVIDERS = "All services", "All providers"


def benchmarking_section(table: pd.DataFrame, authority: str) -> PackSection:
    """The benchmarking page's "at a glance" table, with the worse-and-getting-worse flags in
    words."""
    paragraphs = [
        f"{authority} against England, its region and its ten statistical neighbours, from "
        "DfE's published statistics. Quarters of authorities are shown only where higher or "
        "lower is clearly better; authorities are never ranked on one indicator. Letters are "
        "DfE's symbols: c suppressed, k rounds to 0, x not available, z not applicable."
    ]
    flagged = table[table["flag"] == "worse and getting worse"]
    paragraphs += [f"Worse and getting worse: {words}" for words in flagged["flag_words"]]
    if flagged.empty:
        paragraphs.append("No shared measure is both worse than England and getting worse.")
    glance = readable.benchmark_glance(table)
    return PackSection(
        "Benchmarking", tuple(paragraphs), (("Benchmarking at a glance", glance),), counts=()
    )


def funding_section(
    per_child: pd.DataFrame, against: pd.DataFrame, position, authority: str
) -> PackSection:
    """Spend per child over the years, against comparable authorities, and the national
    position, with the caveat."""
    paragraphs = [CAVEAT]
    if position is not None and pd.notna(position.value):
        paragraphs.append(
            f"In England ({position.spending_year}): {money(position.value)} per child aged "
            f"0–17, {position.words}; median {money(position.median)}, England as a whole "
            f"{money(position.england)}."
        )
    tables = []
    if not per_child.empty:
        counts = readable.PER_CHILD_COUNTS
        own = readable.with_hidden(readable.spend_per_child(per_child), counts)
        tables.append((f"{authority}: spend per child", own))
    if not against.empty:
        tables.append(("Spend against comparable authorities", readable.spend_against(against)))
    return PackSection("Funding context", tuple(paragraphs), tuple(tables))


def neglect_section(cohort, outcomes) -> PackSection:
    """The neglect cohort by year and every service's before and after (all providers), with
    the notes about tools and follow-up."""
    paragraphs = [cohort.definition, *outcomes.notes]
    whole = outcomes.table[outcomes.table["provider"] == ALL_PROVIDERS]
    tables = (
        ("The neglect cohort by year", readable.cohort(cohort.trend, "period", "Period")),
        ("Before and after, by service (all providers)", readable.service_outcomes(whole)),
    )
    return PackSection("Neglect services", tuple(paragraphs), tables)
