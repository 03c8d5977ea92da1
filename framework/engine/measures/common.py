"""Helpers several measures share. Each returns unit rows under the contract of units.py."""

from __future__ import annotations

import pandas as pd

from framework.engine.units import MeasureContext

AGREE_FROM = 4  # on the five-point scale, 4 (agree) and 5 (strongly agree) count as agreeing

# Per survey table: its response date and the slice columns each respondent carries.
SURVEYS = {
    "staff_survey": {"level": "staff_level", "team": "team"},
    "child_survey": {"child_group": "respondent_group", "age_band": "age_band"},
    "parent_survey": {"child_group": "respondent_group", "age_band": "age_band"},
}


def survey_item_units(ctx: MeasureContext, table: str, items: list[str]) -> pd.DataFrame:
    """Respondents in the period who answered every one of ``items``.

    Each respondent's score is the mean of their answers to ``items`` (one item: the answer);
    they agree when that score is 4 or more. Respondents who left any of the items blank are not
    in the denominator (the spec: "% agreeing among respondents who answered"), and are not
    returned at all, so response rates come from the invitations, not from here.
    """
    slices = SURVEYS[table]
    answered = " AND ".join(f"{item} IS NOT NULL" for item in items)
    score = " + ".join(f"{item}" for item in items)
    columns = ", ".join(f"{source} AS {target}" for source, target in slices.items())
    frame = ctx.sql(
        f"""SELECT survey || ' / ' || respondent_id AS unit_id, survey,
                   ({score}) / {len(items)}.0 AS value, {columns}
            FROM {table}
            WHERE response_date BETWEEN $start AND $end AND {answered}"""
    )
    frame["in_denominator"] = True
    frame["in_numerator"] = frame["value"] >= AGREE_FROM
    return frame


__all__ = ["AGREE_FROM", "SURVEYS", "survey_item_units"]
