"""Reporting periods: financial years and their halves.

A year is named like the returns: ``2024-25`` runs from 1 April 2024 to 31 March 2025. Its halves
are ``2024-25H1`` (1 April to 30 September) and ``2024-25H2`` (1 October to 31 March). Child
outcomes use 6-month reference periods: "the last 6 months" of a year is its second half, and
"the 6 months before" is its first half (spec §3 and §12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_LABEL = re.compile(r"^(20\d\d)-(\d\d)(H[12])?$")


@dataclass(frozen=True, order=True)
class Period:
    end_year: int  # 2025 for 2024-25 (the returns' collection year)
    half: int = 0  # 0 the whole year, 1 April-September, 2 October-March

    @classmethod
    def parse(cls, label: str) -> Period:
        """'2024-25' or '2024-25H2' (also accepts an end year such as '2025')."""
        text = label.strip()
        if text.isdigit() and len(text) == 4:
            return cls(int(text))
        match = _LABEL.match(text)
        if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
            raise ValueError(f"{label!r} is not a period such as 2024-25 or 2024-25H2")
        half = int(match.group(3)[1]) if match.group(3) else 0
        return cls(int(match.group(1)) + 1, half)

    @property
    def label(self) -> str:
        year = f"{self.end_year - 1}-{str(self.end_year)[-2:]}"
        return year + (f"H{self.half}" if self.half else "")

    @property
    def start(self) -> date:
        if self.half == 2:
            return date(self.end_year - 1, 10, 1)
        return date(self.end_year - 1, 4, 1)

    @property
    def end(self) -> date:
        if self.half == 1:
            return date(self.end_year - 1, 9, 30)
        return date(self.end_year, 3, 31)

    @property
    def is_half(self) -> bool:
        return self.half != 0

    def previous(self) -> Period:
        """The period of the same length just before (2024-25H1 -> 2023-24H2)."""
        if self.half == 0:
            return Period(self.end_year - 1)
        if self.half == 2:
            return Period(self.end_year, 1)
        return Period(self.end_year - 1, 2)

    def up_to(self, count: int) -> list[Period]:
        """``count`` periods ending with this one, oldest first (halves step by halves)."""
        periods = [self]
        for _ in range(count - 1):
            periods.insert(0, periods[0].previous())
        return periods

    def last_six_months(self) -> Period:
        """The reference period of child outcomes: the year's second half, or the half itself."""
        return self if self.is_half else Period(self.end_year, 2)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def days(self) -> int:
        return (self.end - self.start + timedelta(days=1)).days

    def __str__(self) -> str:
        return self.label


__all__ = ["Period"]
