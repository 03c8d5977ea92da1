"""Official reference data an authority downloads: deprivation, boundaries, lookups, populations.

``readers`` recognises each published layout by its columns and reads it, checked, into the
store's ``ref_*`` tables; ``imports`` writes a set of files into the store in one transaction.
Command line: ``python -m framework reference import PATH...`` (see docs/reference-data.md).
"""

from framework.reference.imports import ImportOutcome, describe, import_reference
from framework.reference.readers import read_reference

__all__ = ["ImportOutcome", "describe", "import_reference", "read_reference"]
