"""Disclosure control for counts: nothing from 1 to the threshold leaves the engine.

Primary suppression hides every count from 1 to the threshold (zero is safe to show). Secondary
suppression then hides enough other cells that a hidden count cannot be worked back from a
total: in a row whose parts add up to a total, a single hidden part would be the total minus
the others, so a second part is hidden too (the smallest), or the total if no other part can be.

Hidden cells are returned as missing values; pages show them as ``SUPPRESSED``.
"""

from __future__ import annotations

import pandas as pd

SUPPRESSED = "c"  # as in DfE statistics: confidential, hidden to protect individuals


def is_small(value: object, threshold: int) -> bool:
    return pd.notna(value) and 0 < value <= threshold


def protect_row(
    values: dict[str, int | None], parts: list[str], total: str | None, threshold: int
) -> dict[str, int | None]:
    """Suppress one row of counts whose ``parts`` add up to ``total`` (if given)."""
    shown = dict(values)
    for name in [*parts, *([total] if total else [])]:
        if is_small(shown[name], threshold):
            shown[name] = None
    hidden_parts = [p for p in parts if shown[p] is None and values[p]]
    if total and shown[total] is not None and len(hidden_parts) == 1:
        candidates = [
            p for p in parts if shown[p] is not None and shown[p] and p not in hidden_parts
        ]
        if candidates:
            shown[min(candidates, key=lambda p: shown[p])] = None
        else:
            shown[total] = None
    return shown


def protect_counts(
    frame: pd.DataFrame, parts: list[str], total: str | None, threshold: int
) -> pd.DataFrame:
    """Apply primary and secondary suppression to each row of a table of counts."""
    out = frame.copy()
    columns = [*parts, *([total] if total else [])]
    for column in columns:
        out[column] = out[column].astype("Int64")
    for index, row in out[columns].iterrows():
        protected = protect_row(row.to_dict(), parts, total, threshold)
        for column in columns:
            out.at[index, column] = pd.NA if protected[column] is None else protected[column]
    return out
