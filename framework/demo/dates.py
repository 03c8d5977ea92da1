"""Dates for the simulator: days as integers, working days, birthdays and formatting.

Every date inside the simulator is a proleptic Gregorian ordinal (``date.toordinal()``): adding
days is integer arithmetic and comparisons are cheap, which matters at 100,000 children. The
writers turn ordinals into text through small caches.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta
from functools import cache

Day = int  # a date as an ordinal

# One-off bank holidays in England and Wales that no rule predicts.
_SPECIAL_HOLIDAYS = {
    date(2011, 4, 29),  # royal wedding
    date(2012, 6, 5),  # diamond jubilee
    date(2020, 5, 8),  # VE day (replaced the early May holiday)
    date(2022, 6, 3),  # platinum jubilee
    date(2022, 9, 19),  # state funeral
    date(2023, 5, 8),  # coronation
}
# Years when the spring or early-May holiday moved from its usual Monday.
_MOVED = {
    (2012, "spring"): date(2012, 6, 4),
    (2020, "early_may"): None,  # replaced by VE day, listed above
    (2022, "spring"): date(2022, 6, 2),
}


def day(year: int, month: int, dom: int) -> Day:
    return date(year, month, dom).toordinal()


def to_date(value: Day) -> date:
    return date.fromordinal(value)


@cache
def iso(value: Day) -> str:
    """YYYY-MM-DD (CiN census XML, address extract)."""
    return date.fromordinal(value).isoformat()


@cache
def uk(value: Day) -> str:
    """DD/MM/YYYY (SSDA903 CSV)."""
    return date.fromordinal(value).strftime("%d/%m/%Y")


def year_start(end_year: int) -> Day:
    """1 April that opens the collection year ending in ``end_year``."""
    return day(end_year - 1, 4, 1)


def year_end(end_year: int) -> Day:
    """31 March, the census reference date of the year."""
    return day(end_year, 3, 31)


def year_label(end_year: int) -> str:
    return f"{end_year - 1}-{str(end_year)[-2:]}"


def end_year_of(value: Day) -> int:
    d = date.fromordinal(value)
    return d.year + 1 if d.month >= 4 else d.year


def birthday(dob: Day, age: int) -> Day:
    """The day a person born on ``dob`` reaches ``age`` (29 February -> 1 March)."""
    born = date.fromordinal(dob)
    try:
        return date(born.year + age, born.month, born.day).toordinal()
    except ValueError:
        return date(born.year + age, 3, 1).toordinal()


def age_on(dob: Day, when: Day) -> int:
    """Whole years of age on a day (negative before birth)."""
    born, then = date.fromordinal(dob), date.fromordinal(when)
    years = then.year - born.year - ((then.month, then.day) < (born.month, born.day))
    return years if when >= dob else -1


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month = (h + leap - 7 * m + 114) // 31
    dom = (h + leap - 7 * m + 114) % 31 + 1
    return date(year, month, dom)


def _first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=last.weekday())


def bank_holidays(year: int) -> set[date]:
    """England and Wales bank holidays in a calendar year, substitute days included."""
    easter = _easter(year)
    days = {easter - timedelta(days=2), easter + timedelta(days=1)}
    new_year = date(year, 1, 1)
    days.add(new_year + timedelta(days={5: 2, 6: 1}.get(new_year.weekday(), 0)))
    early_may = _MOVED.get((year, "early_may"), _first_monday(year, 5))
    if early_may:
        days.add(early_may)
    days.add(_MOVED.get((year, "spring"), _last_monday(year, 5)))
    days.add(_last_monday(year, 8))
    christmas = date(year, 12, 25)
    weekday = christmas.weekday()
    if weekday == 5:  # Saturday: Monday and Tuesday in lieu
        days |= {date(year, 12, 27), date(year, 12, 28)}
    elif weekday == 6:  # Sunday: Boxing Day Monday, Christmas in lieu Tuesday
        days |= {date(year, 12, 26), date(year, 12, 27)}
    elif weekday == 4:  # Friday: Boxing Day (Saturday) moves to Monday
        days |= {christmas, date(year, 12, 28)}
    else:
        days |= {christmas, date(year, 12, 26)}
    return days | {d for d in _SPECIAL_HOLIDAYS if d.year == year}


class WorkingDays:
    """Working days (Monday to Friday, not bank holidays) over a fixed span of years."""

    def __init__(self, first_year: int, last_year: int):
        holidays: set[Day] = set()
        for year in range(first_year, last_year + 1):
            holidays |= {d.toordinal() for d in bank_holidays(year)}
        start, stop = day(first_year, 1, 1), day(last_year, 12, 31)
        self.days = [
            d for d in range(start, stop + 1) if (d % 7) not in (0, 6) and d not in holidays
        ]
        # ordinal % 7: 0 is Sunday, 6 is Saturday (date(1, 1, 1) was a Monday, ordinal 1).

    def is_working(self, value: Day) -> bool:
        i = bisect_right(self.days, value) - 1
        return i >= 0 and self.days[i] == value

    def after(self, value: Day, count: int) -> Day:
        """The ``count``-th working day after ``value`` (``value`` itself not counted)."""
        i = bisect_right(self.days, value) + count - 1
        return self.days[min(i, len(self.days) - 1)]

    def on_or_after(self, value: Day) -> Day:
        """``value`` if it is a working day, else the next one."""
        return value if self.is_working(value) else self.after(value, 1)
