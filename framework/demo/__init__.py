"""Demoton: a deterministic simulator of a fictional local authority's statutory returns.

``generate_demo`` (in ``generator``) writes the CiN census XML and SSDA903 CSVs for a run of
years, with the reference geography and a child address extract. Rates and distributions
live in ``params``; ``calibration`` measures a generated authority from its files.
"""
