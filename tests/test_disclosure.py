"""Disclosure control: boundary cases by hand, and properties for any table of counts."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from framework.disclosure import protect_counts, protect_row

T = 5


def test_counts_at_and_below_the_threshold_are_hidden_zero_is_not():
    row = protect_row({"a": 0, "b": 1, "c": 5, "d": 6}, ["a", "b", "c", "d"], None, T)
    assert row == {"a": 0, "b": None, "c": None, "d": 6}


def test_a_single_hidden_part_takes_the_smallest_other_part_with_it():
    row = protect_row({"a": 3, "b": 40, "c": 9, "total": 52}, ["a", "b", "c"], "total", T)
    assert row == {"a": None, "b": 40, "c": None, "total": 52}


def test_when_no_other_part_can_hide_it_the_total_is_hidden():
    row = protect_row({"a": 3, "b": 0, "total": 3}, ["a", "b"], "total", T)
    assert row == {"a": None, "b": 0, "total": None}
    row = protect_row({"a": 4, "b": 0, "total": 14}, ["a", "b"], "total", T)
    assert row["total"] is None


counts = st.integers(min_value=0, max_value=60)


@given(st.lists(st.lists(counts, min_size=2, max_size=6), min_size=1, max_size=8))
def test_no_small_count_is_shown_or_recoverable_from_the_total(rows):
    width = len(rows[0])
    rows = [(r + [0] * width)[:width] for r in rows]
    parts = [f"p{i}" for i in range(width)]
    frame = pd.DataFrame(rows, columns=parts)
    frame["total"] = frame[parts].sum(axis=1)
    shown = protect_counts(frame, parts, "total", T)
    for (_, original), (_, after) in zip(frame.iterrows(), shown.iterrows(), strict=True):
        for column in [*parts, "total"]:
            value = after[column]
            assert pd.isna(value) or not (0 < value <= T)
        hidden = [p for p in parts if pd.isna(after[p])]
        if pd.notna(after["total"]):
            # One unknown could be solved for (total minus the rest); two cannot be told apart.
            assert len(hidden) != 1
        # Zeros carry no risk and stay visible, so a hidden cell never hides a known zero.
        assert all(original[p] > 0 for p in hidden)
