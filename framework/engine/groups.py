"""Groups side by side: one indicator for every group of children (spec §4), and its gap to
all children.

The groups overlap (a child on a plan is also a child in need), so each group is compared with
all children, not with the other groups. The gap is the group's value minus all children's; it
is hidden wherever either value is hidden, so it can never reveal a hidden number.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from framework.engine.aggregate import Query, evaluate
from framework.engine.catalogue import Indicator, catalogue
from framework.engine.dimensions import GROUP_LABELS, GROUPS
from framework.engine.periods import Period
from framework.engine.run import register_measures

ALL_CHILDREN = "All children"
COLUMNS = ["numerator", "denominator", "value", "ci_low", "ci_high", "suppressed", "status"]


@dataclass(frozen=True)
class GroupsView:
    record: Indicator
    table: pd.DataFrame  # group (label), category, numbers, gap, gap_hidden; all children first
    reason: str | None  # why there are no groups (e.g. the units are not children's)


def groups_view(
    con: duckdb.DuckDBPyConnection,
    indicator_id: str,
    period: Period,
    *,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
) -> GroupsView:
    register_measures()
    record = catalogue()[indicator_id]
    query = Query(
        (indicator_id,), period, separately=("group",), where=where, threshold=threshold,
        with_change=False,
    )  # fmt: skip
    results = evaluate(con, query)
    whole = results[results["slice"] == "all"].assign(group=ALL_CHILDREN)
    by_group = results[results["slice"] == "group"]
    reason = None
    if whole["status"].iloc[0] != "ok":
        reason = str(whole["status"].iloc[0])
    elif by_group.empty or (by_group["status"] != "ok").all():
        reason = "these units are not children's, so they have no group"
    by_group = by_group[by_group["status"] == "ok"]
    by_group = by_group.assign(group=by_group["group"].map(GROUP_LABELS))
    order = {label: i for i, label in enumerate([ALL_CHILDREN, *GROUP_LABELS.values()])}
    table = pd.concat([whole, by_group], ignore_index=True)
    table = table[["group", "category", *COLUMNS]]
    table = table.assign(_order=table["group"].map(order)).sort_values(["_order"], kind="stable")
    return GroupsView(record, _with_gap(table.drop(columns="_order")), reason)


def _with_gap(table: pd.DataFrame) -> pd.DataFrame:
    """Each group's value minus all children's (for the same category); hidden when either
    value is hidden, missing when either is absent."""
    key = table["category"].astype("string").fillna("")
    is_reference = (table["group"] == ALL_CHILDREN).to_numpy()
    reference = table[is_reference].set_index(key[is_reference])
    base = key.map(reference["value"]).to_numpy(dtype=float, na_value=np.nan)
    base_hidden = key.map(reference["suppressed"]).fillna(False).to_numpy(dtype=bool)
    value = table["value"].to_numpy(dtype=float, na_value=np.nan)
    hidden = (table["suppressed"].fillna(False).to_numpy(dtype=bool) | base_hidden) & ~is_reference
    gap = value - base
    gap[hidden | is_reference] = np.nan
    return table.assign(gap=gap, gap_hidden=hidden).reset_index(drop=True)


def groups_matrix(
    con: duckdb.DuckDBPyConnection,
    indicator_ids: tuple[str, ...],
    period: Period,
    *,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
) -> pd.DataFrame:
    """Several indicators (one share or number each) for all children and every group: rows
    indicator, columns all children then each group; values missing where hidden or absent,
    with a parallel boolean frame's worth of ``hidden`` flags in columns ``<group> hidden``."""
    register_measures()
    query = Query(
        indicator_ids, period, separately=("group",), where=where, threshold=threshold,
        with_change=False,
    )  # fmt: skip
    results = evaluate(con, query)
    results = results[results["category"].isna() & (results["status"] == "ok")]
    results = results.assign(
        column=np.where(results["slice"] == "all", ALL_CHILDREN, results["group"].map(GROUP_LABELS))
    )
    results = results[results["slice"].isin(["all", "group"])]
    values = results.pivot_table(
        index="indicator_id", columns="column", values="value", aggfunc="first", dropna=False
    )
    hidden = results.pivot_table(
        index="indicator_id", columns="column", values="suppressed", aggfunc="first"
    )
    columns = [ALL_CHILDREN, *(GROUP_LABELS[g] for g in GROUPS)]
    values = values.reindex(index=list(indicator_ids), columns=columns)
    hidden = hidden.reindex(index=list(indicator_ids), columns=columns).astype("boolean")
    out = values.astype("Float64")
    for column in columns:
        out[f"{column} hidden"] = hidden[column].fillna(False)
    out.insert(0, "label", [catalogue()[i].label for i in out.index])
    out.insert(1, "statistic", [catalogue()[i].statistic for i in out.index])
    return out.reset_index().rename(columns={"index": "indicator_id"})


__all__ = ["ALL_CHILDREN", "GroupsView", "groups_matrix", "groups_view"]
