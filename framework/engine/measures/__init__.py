"""Measures: one small function per indicator, returning unit-level rows (see units.py)."""
