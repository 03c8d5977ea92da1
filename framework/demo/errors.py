"""Plant the mistakes real returns contain, at a small rate, and record each one exactly.

Used only with ``with_errors=True``. Every planted error is one row of
``planted_errors.csv`` (file, child, field, value, kind) so tests can check that the readers
catch each of them. Kinds: ``duplicate_child``, ``duplicate_episode``, ``invalid_code``,
``impossible_date``, ``end_before_start``, ``closure_before_referral``, ``orphan_row``.
"""

from __future__ import annotations

import copy
import csv
import random
from dataclasses import dataclass
from pathlib import Path

from framework.demo.dates import day, iso, uk
from framework.demo.write_ssda903 import COLUMNS, Rows

PLANTED_COLUMNS = ["file", "child", "field", "value", "kind"]
# (table, kind, field, planted value or None when derived from the row)
SSDA903_PLANS = {
    "header": [("duplicate_child", "CHILD", None), ("invalid_code", "ETHNIC", "WXYZ")],
    "episodes": [
        ("duplicate_episode", "DECOM", None),
        ("invalid_code", "PLACE", "U9"),
        ("invalid_code", "LS", "C9"),
        ("impossible_date", "DECOM", None),
        ("end_before_start", "DEC", None),
    ],
    "reviews": [
        ("orphan_row", "CHILD", None),
        ("invalid_code", "REVIEW_CODE", "PN9"),
        ("impossible_date", "REVIEW", None),
    ],
}
CIN_PLANS = [
    ("duplicate_child", "LAchildID", None),
    ("invalid_code", "ReferralSource", "11"),
    ("invalid_code", "ReasonForClosure", "RC0"),
    ("invalid_code", "Ethnicity", "XXXX"),
    ("impossible_date", "CINreferralDate", None),
    ("closure_before_referral", "CINclosureDate", None),
]


@dataclass(frozen=True, slots=True)
class Planted:
    file: str
    child: str
    field: str
    value: str
    kind: str


class ErrorPlanter:
    def __init__(self, seed: int, rate: float = 0.015):
        self.rng = random.Random(f"demoton:{seed}:errors")
        self.rate = rate
        self.records: list[Planted] = []
        self._orphans = 0

    # --- SSDA903 ---------------------------------------------------------------------------

    def plant_ssda903(self, folder: str, rows: Rows) -> None:
        for table, plans in SSDA903_PLANS.items():
            table_rows = rows.get(table, [])
            if not table_rows:
                continue
            wanted = max(len(plans), round(self.rate * len(table_rows)))
            used: set[int] = set()
            additions: list[list[str]] = []
            for n in range(wanted):
                kind, field, value = plans[n % len(plans)]
                self._plant_row(folder, table, table_rows, used, additions, kind, field, value)
            table_rows.extend(additions)

    def _plant_row(self, folder, table, table_rows, used, additions, kind, field, value) -> None:
        columns = COLUMNS[table]
        column = columns.index(field)
        file = f"{folder}/{table}.csv"
        if kind == "orphan_row":
            self._orphans += 1
            template = self.rng.choice(table_rows)
            orphan = [f"DMT99{self._orphans:05d}", *template[1:]]
            additions.append(orphan)
            self.records.append(Planted(file, orphan[0], "CHILD", orphan[0], kind))
            return
        index = self._free_row(table_rows, used, column, need_value=kind == "end_before_start")
        if index is None:
            return
        row = table_rows[index]
        child = row[0]
        if kind in ("duplicate_child", "duplicate_episode"):
            additions.append(list(row))
            self.records.append(Planted(file, child, field, row[column], kind))
            return
        if kind == "impossible_date":
            value = _impossible_uk(row[column])
        elif kind == "end_before_start":
            start = _parse_uk(row[columns.index("DECOM")])
            value = uk(start - self.rng.randint(3, 60))
        row[column] = value
        self.records.append(Planted(file, child, field, value, kind))

    def _free_row(self, rows, used, column, need_value=False) -> int | None:
        for _ in range(50):
            index = self.rng.randrange(len(rows))
            if index in used or (need_value and not rows[index][column]):
                continue
            used.add(index)
            return index
        return None

    # --- CiN census ------------------------------------------------------------------------

    def plant_cin(self, file: str, children: list) -> None:
        if not children:
            return
        wanted = max(len(CIN_PLANS), round(self.rate * len(children)))
        used: set[int] = set()
        duplicates: list[int] = []
        for n in range(wanted):
            kind, field, value = CIN_PLANS[n % len(CIN_PLANS)]
            for _ in range(50):
                index = self.rng.randrange(len(children))
                if index in used:
                    continue
                node = children[index]
                target = _find(node, field)
                if target is None:
                    continue
                if kind == "closure_before_referral" and _find(node, "CINreferralDate") is None:
                    continue
                used.add(index)
                child_id = _find(node, "LAchildID")[1]
                if kind == "duplicate_child":
                    duplicates.append(index)
                    value = child_id
                elif kind == "impossible_date":
                    value = f"{target[1][:4]}-02-30"
                    target[1] = value
                elif kind == "closure_before_referral":
                    details = _parent_of(node, target)
                    referral = _find(details, "CINreferralDate")[1]
                    year, month, dom = (int(x) for x in referral.split("-"))
                    value = iso(day(year, month, dom) - self.rng.randint(5, 60))
                    target[1] = value
                else:
                    target[1] = value
                self.records.append(Planted(file, child_id, field, value, kind))
                break
        for index in sorted(duplicates, reverse=True):
            children.insert(index + 1, copy.deepcopy(children[index]))

    def write(self, out_dir: Path) -> None:
        with (out_dir / "planted_errors.csv").open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle, lineterminator="\n")
            out.writerow(PLANTED_COLUMNS)
            for record in self.records:
                out.writerow([record.file, record.child, record.field, record.value, record.kind])


def _find(node, tag):
    """The first element named ``tag`` in a node tree (depth first), or None."""
    name, content = node
    if name == tag:
        return node
    if isinstance(content, list):
        for child in content:
            found = _find(child, tag)
            if found is not None:
                return found
    return None


def _parent_of(node, target):
    _, content = node
    if isinstance(content, list):
        for child in content:
            if child is target:
                return node
            found = _parent_of(child, target)
            if found is not None:
                return found
    return None


def _parse_uk(text: str) -> int:
    dom, month, year = (int(x) for x in text.split("/"))
    return day(year, month, dom)


def _impossible_uk(text: str) -> str:
    """A date that cannot exist, in the same year: 31 February, 30 February or 31 April."""
    year = text[-4:] if len(text) == 10 else "2024"
    return f"31/02/{year}"
