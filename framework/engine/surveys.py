"""Survey response rates and weighting to the people invited (spec §5 and §7).

Respondents answer more in some segments than others (care leavers and parents of children on
child protection plans answer least; senior leaders most). The invitations table says how many
people of each segment each survey was sent to:
  * staff surveys: segment = staff level, and team;
  * child and parent surveys: segment = the child's group, and age band.
The response rate of a slice is its respondents ÷ the people invited in that slice (when the
slice is one the invitations record). Weighting gives each respondent the weight
(invited share of their cell) ÷ (respondent share of their cell), so that every cell counts in
proportion to the people invited; intervals then use Kish's effective sample size.
"""

from __future__ import annotations

import duckdb
import pandas as pd

# Respondent unit columns <- invitation columns, per survey audience.
CELLS = {
    "staff": {"staff_level": "segment", "team": "team"},
    "family": {"respondent_group": "segment", "age_band": "age_band"},
}


def audience_of(units: pd.DataFrame) -> str:
    return "staff" if "staff_level" in units and units["staff_level"].notna().any() else "family"


def invitations(con: duckdb.DuckDBPyConnection, surveys: list[str]) -> pd.DataFrame:
    """Invitation rows of the given survey waves (segment, age_band, team, invited)."""
    if not surveys:
        return pd.DataFrame(columns=["survey", "segment", "age_band", "team", "invited"])
    return con.execute(
        "SELECT survey, segment, age_band, team, invited FROM survey_invitations "
        "WHERE list_contains($surveys, survey)",
        {"surveys": surveys},
    ).df()


def invited_in_slice(invited: pd.DataFrame, audience: str, key: dict) -> float | None:
    """People invited in the slice ``key`` (dimension -> value), or None when the invitations
    cannot say (a dimension they do not record, or no invitations loaded)."""
    if invited.empty:
        return None
    cells = CELLS[audience]
    rows = invited
    for dimension, value in key.items():
        if dimension == "survey":
            rows = rows[rows["survey"] == value]
            continue
        if dimension not in cells:
            return None
        rows = rows[rows[cells[dimension]].astype("string").fillna("unknown") == value]
    return float(rows["invited"].sum())


def weights(units: pd.DataFrame, invited: pd.DataFrame) -> pd.Series:
    """Each respondent's weight: invited share ÷ respondent share of their cell (1 where the
    invitations do not cover the cell)."""
    audience = audience_of(units)
    cells = CELLS[audience]
    keys = ["survey", *cells]
    responded = units.groupby(keys, dropna=False).size().rename("respondents").reset_index()
    plan = invited.rename(columns={source: name for name, source in cells.items()})
    plan = plan.groupby(keys, dropna=False)["invited"].sum().reset_index()
    table = responded.merge(plan, on=keys, how="left")
    table["invited_share"] = table["invited"] / table.groupby("survey")["invited"].transform("sum")
    table["respondent_share"] = table["respondents"] / table.groupby("survey")[
        "respondents"
    ].transform("sum")
    table["weight"] = (table["invited_share"] / table["respondent_share"]).fillna(1.0)
    merged = units[keys].merge(table[[*keys, "weight"]], on=keys, how="left")
    return pd.Series(merged["weight"].fillna(1.0).to_numpy(), index=units.index)


__all__ = ["CELLS", "audience_of", "invitations", "invited_in_slice", "weights"]
