"""The engine's tables for the commissioners' and leaders' pages, as people read them.

Pages, exports and the meeting pack show the same words: a share as a percentage, a change in
percentage points, a hidden value as ``c``, "no data" as words and never as 0. Nothing here
computes a statistic: values, intervals, readings and hiding all come from the engine.
"""

from __future__ import annotations

import math

import pandas as pd

from framework.disclosure import SUPPRESSED
from framework.formatting import money, percent

# How a neglect-services measure's values read, by its unit (framework/engine/neglect.py).
HIDDEN_STATUS = "too few to show"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


def unit_value(value, unit: str) -> str:
    """One value: a share (0–1) and a percent (0–100) as percentages, a score to 2 decimals."""
    if _missing(value):
        return ""
    if unit == "share":
        return percent(value) or ""
    if unit == "percent":
        return f"{float(value):.1f}%"
    return f"{float(value):,.2f}"


def unit_change(value, unit: str) -> str:
    """A change: percentage points for shares and percents, else a signed number."""
    if _missing(value):
        return ""
    if unit == "share":
        return f"{float(value) * 100:+.1f} points"
    if unit == "percent":
        return f"{float(value):+.1f} points"
    return f"{float(value):+,.2f}"


def _interval(low, high, unit: str, change: bool = False) -> str:
    if _missing(low) or _missing(high):
        return ""
    words = unit_change if change else unit_value
    return f"{words(low, unit)} to {words(high, unit)}"


def _count(value) -> str:
    return "" if _missing(value) else f"{float(value):,.0f}"


def service_outcomes(table: pd.DataFrame) -> pd.DataFrame:
    """The before-and-after table (``neglect.service_outcomes(...).table``) in words: one row
    per service, provider and measure; hidden cells ``c``; a row without data says why."""
    rows = []
    for row in table.itertuples(index=False):
        ok = row.status == "ok"
        hidden = bool(row.suppressed) or HIDDEN_STATUS in str(row.status)

        before = unit_value(row.before, row.unit)
        after = unit_value(row.after, row.unit)
        change = unit_change(row.change, row.unit)
        rows.append(
            {
                "Service": row.service,
                "Provider": row.provider,
                "Measure": row.measure,
                "Children": _count(row.n) or (SUPPRESSED if hidden else ""),
                "Before": before
                or (SUPPRESSED if hidden and row.family not in _AFTER_ONLY else ""),
                "After (or within 12 months)": after or (SUPPRESSED if hidden else ""),
                "Change": change
                or (SUPPRESSED if hidden and row.family not in _AFTER_ONLY else ""),
                "95% interval of the change": _interval(
                    row.change_low, row.change_high, row.unit, change=True
                ),
                "Children improved": _paired_count(row, "improved_count", hidden),
                "Children got worse": _paired_count(row, "worse_count", hidden),
                "Reading": "" if hidden or _missing(row.reading) else str(row.reading),
                "Note": "" if ok else str(row.status),
            }
        )
    return pd.DataFrame(rows)


def _paired_count(row, column: str, hidden: bool) -> str:
    """Children who improved (or got worse) on a yes/no measure: shown only with the change's
    interval (together they would give each other away); blank for other measures."""
    if row.family not in _PAIRED:
        return ""
    value = getattr(row, column, None)
    return SUPPRESSED if _missing(value) else _count(value)


_PAIRED = ("clothed", "breakfast", "sleep")  # the practical yes/no measures
# Measures counted only after the service (12-month follow-up): no "before", no change.
_AFTER_ONLY = ("rereferral", "repeat_cp")


def cohort(frame: pd.DataFrame, first: str, title: str) -> pd.DataFrame:
    """The neglect cohort by period, locality or decile: counts, share of children in need with
    its interval, rate per 10,000 children; hidden rows ``c``."""
    rows = []
    for row in frame.to_dict("records"):
        hidden = bool(row.get("suppressed"))
        rows.append(
            {
                title: row[first],
                "Children in the neglect cohort": SUPPRESSED if hidden else _count(row["children"]),
                "Children in need": _count(row["children_in_need"])
                or (SUPPRESSED if hidden else ""),
                "Share of children in need": SUPPRESSED
                if hidden
                else unit_value(row["share"], "share"),
                "95% interval": "" if hidden else _interval(row["ci_low"], row["ci_high"], "share"),
                "Per 10,000 children": SUPPRESSED
                if hidden
                else ("" if _missing(row["per_10000"]) else f"{row['per_10000']:.0f}"),
            }
        )
    return pd.DataFrame(rows)


# --- benchmarking ----------------------------------------------------------------------------

PUBLISHED_FORMAT = {"percent": ".1f", "rate per 10,000": ".0f", "count": ",.0f", "average": ".1f"}
NO_POLARITY = "— (no polarity)"


def published(value, code, unit: str) -> str:
    """A published figure as text: its EES symbol when it has one (never 0 for c, x, z; "k"
    rounds to 0 and is shown as k), else the number in the measure's unit."""
    if not _missing(code) and str(code).strip():
        return str(code)  # "k" too: it is read as 0, and shown as published
    if _missing(value):
        return ""
    text = format(float(value), PUBLISHED_FORMAT.get(unit, ".1f"))
    return f"{text}%" if unit == "percent" else text


def benchmark_glance(table: pd.DataFrame) -> pd.DataFrame:
    """``benchmarking.overview_table`` in words: one row per shared measure."""
    units = table["unit"]

    def column(values, codes=None) -> list[str]:
        codes = [None] * len(table) if codes is None else codes
        return [published(v, c, u) for v, c, u in zip(values, codes, units, strict=True)]

    return pd.DataFrame(
        {
            "Measure": table["label"],
            "Year": table["time_period"],
            "This authority": column(table["value"], list(table["value_code"])),
            "England": column(table["england"]),
            "Region": column(table["region"]),
            "Neighbours' average": column(table["neighbours_average"]),
            "Quarter of authorities": [
                band if isinstance(band, str) else (NO_POLARITY if polarity == "none" else "")
                for band, polarity in zip(table["band"], table["polarity"], strict=True)
            ],
            "Against England and over time": table["flag"].fillna(""),
            "Framework indicator": table["indicator_id"].fillna(""),
        }
    )


# --- funding ---------------------------------------------------------------------------------

ROLE_WORDS = {
    "authority": "chosen authority",
    "neighbour": "statistical neighbour",
    "neighbour_average": "neighbours' average",
    "region": "region",
    "england": "England",
}
PER_CHILD_COUNTS = ["Children aged 0–17", "Children in need (in the year)"]
PER_CHILD_COUNTS += ["Looked after on 31 March"]


def spend_per_child(per_child: pd.DataFrame) -> pd.DataFrame:
    """``funding.spend_per_child`` in words (counts stay numbers, missing where hidden)."""
    return pd.DataFrame(
        {
            "Year": per_child["year"],
            "Spend": per_child["spend_gbp"].map(money),
            "Children aged 0–17": per_child["children_0_17"],
            "Per child aged 0–17": per_child["per_child_gbp"].map(money),
            "Children in need (in the year)": per_child["children_in_need"],
            "Per child in need": per_child["per_child_in_need_gbp"].map(money),
            "Looked after on 31 March": per_child["looked_after_31_march"],
            "Looked-after spend per looked-after child": per_child[
                "per_looked_after_child_gbp"
            ].map(money),
        }
    )


def spend_against(against: pd.DataFrame) -> pd.DataFrame:
    """``funding.spend_against_comparators`` in words."""
    return pd.DataFrame(
        {
            "Area": against["area_name"],
            "Compared as": against["role"].map(ROLE_WORDS),
            "Closeness": against["closeness"].fillna(""),
            "Year": against["spending_year"],
            "Spend per child aged 0–17": against["spend_per_child_gbp"].map(money),
            "Share of all council service spend": against["csc_share_of_total_pct"].map(
                lambda v: "" if _missing(v) else f"{v:.1f}%"
            ),
            "Looked-after spend per looked-after child": against[
                "spend_per_looked_after_child_gbp"
            ].map(money),
            "Note": against["note"].fillna(""),
        }
    )


def with_hidden(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Count columns as text, a hidden (missing) count as ``c``."""
    out = frame.copy()
    for name in columns:
        out[name] = [SUPPRESSED if _missing(v) else f"{float(v):,.0f}" for v in out[name]]
    return out


# --- the child-level tracker -------------------------------------------------------------------

RAG_WORDS = {"red": "Red", "amber": "Amber", "green": "Green"}
AUTHORITY_ID = "Authority's child id"


def _day(value) -> str:
    if _missing(value):
        return ""
    day = pd.Timestamp(value)
    return f"{day.day} {day:%b %Y}"


def _whole(value) -> str:
    return "" if _missing(value) else f"{int(value):,}"


def _yes_no(value) -> str:
    return "" if _missing(value) else ("Yes" if bool(value) else "No")


def _coded(code, words: dict[str, str]) -> str:
    if _missing(code) or not str(code).strip():
        return ""
    meaning = words.get(str(code).upper())
    return f"{meaning} ({code})" if meaning else str(code)


def _plan_details(row: dict, words: dict[str, dict[str, str]]) -> str:
    """The child's open plan in a sentence: category and length, or legal status and placement."""
    parts = []
    if not _missing(row["cp_start"]):
        state = "open" if row["plan"] == "cp_plan" else f"ended {_day(row['cp_end'])}"
        number = row["cp_plan_number"]
        which = "" if _missing(number) or int(number) < 2 else f", plan number {int(number)}"
        category = _coded(row["cp_category"], words["cp_category"])
        parts.append(
            f"CP plan ({category or 'category not recorded'}) from {_day(row['cp_start'])}, "
            f"{state}, {_whole(row['cp_months'])} months{which}"
        )
    if not _missing(row["care_start"]):
        parts.append(
            f"{_coded(row['legal_status'], words['legal_status'])}; "
            f"{_coded(row['placement_type'], words['placement_type'])} since "
            f"{_day(row['placement_start'])}; in care since {_day(row['care_start'])}"
        )
    if not _missing(row["cin_plan_start"]):
        parts.append(f"CiN plan since {_day(row['cin_plan_start'])}")
    leaver = [
        _coded(row[column], words[column])
        for column in (
            "care_leaver_in_touch",
            "care_leaver_activity",
            "care_leaver_accommodation",
        )
    ]
    if any(leaver):
        parts.append("Care leaver: " + "; ".join(part for part in leaver if part))
    return " · ".join(parts)


def _attendance(row: dict) -> str:
    if _missing(row["attendance_pct"]):
        return ""
    terms = _whole(row["attendance_terms"])
    return f"{float(row['attendance_pct']):.1f}% ({terms} term(s) to {row['latest_term']})"


def tracker(frame: pd.DataFrame, ids: dict[str, str] | None = None) -> pd.DataFrame:
    """``engine.tracker.tracker(...)`` as people read it: one row per child, red first; codes
    with their meanings; missing data blank (never 0). With ``ids`` (``idmap.lookup``) the
    authority's own child id is the second column; a child the map lacks has it blank."""
    from framework.engine.tracker import PLAN_STATUSES, code_words

    columns = (
        "legal_status",
        "placement_type",
        "cp_category",
        "care_leaver_in_touch",
        "care_leaver_activity",
        "care_leaver_accommodation",
    )
    words = {column: code_words(column) for column in columns}
    sex = {"M": "Male", "F": "Female", "U": "Unknown"}
    rows = []
    for row in frame.to_dict("records"):
        shown = {"RAG": RAG_WORDS.get(row["rag"], row["rag"])}
        shown["Reasons"] = "; ".join(row["reasons"])
        shown["Child (pseudonym)"] = row["child_id"]
        if ids is not None:
            shown[AUTHORITY_ID] = ids.get(row["child_id"], "")
        sdq = row["sdq_total"]
        due = _day(row["next_review_due"])
        shown |= {
            "Age": _whole(row["age"]),
            "Sex": "" if _missing(row["sex"]) else sex.get(row["sex"], row["sex"]),
            "Locality": "" if _missing(row["locality"]) else row["locality"],
            "Team": "" if _missing(row["team"]) else row["team"],
            "Plan": PLAN_STATUSES.get(row["plan"], row["plan"]),
            "Plan details": _plan_details(row, words),
            "Attendance (12 months)": _attendance(row),
            "Suspensions (12 months)": _whole(row["suspensions_12m"]),
            "Permanently excluded (12 months)": _yes_no(row["permanent_exclusion_12m"]),
            "Placements (12 months)": _whole(row["placements_12m"]),
            "Placement moves (12 months)": _whole(row["placement_moves_12m"]),
            "Missing (12 months)": _whole(row["missing_12m"]),
            "Away from placement (12 months)": _whole(row["away_12m"]),
            "Risks named": "; ".join(row["risks"]),
            "Feels safe": _yes_no(row["feels_safe"]),
            "SDQ": "" if _missing(sdq) else f"{int(sdq)} ({row['sdq_informant']})",
            "Last review": ""
            if _missing(row["last_review_date"])
            else f"{_day(row['last_review_date'])} ({row['last_review']})",
            "Next review due": due
            + (" (overdue)" if due and row["review_overdue"] is True else ""),
        }
        rows.append(shown)
    if not rows:
        return pd.DataFrame(columns=["RAG", "Reasons", "Child (pseudonym)"])
    return pd.DataFrame(rows)


def tracker_rules(table: pd.DataFrame) -> pd.DataFrame:
    """``engine.tracker.rules_table()`` in words."""
    return pd.DataFrame(
        {
            "Colour": table["colour"].map(RAG_WORDS),
            "Rule": table["rule"],
            "When": table["when"],
            "Why this threshold": table["why"],
        }
    )
