"""An exact differencing check of one jointly protected result (aggregate.py, "across views").

Why. ``suppression.protect`` looks at one sum at a time: a sum with one hidden part, or whose
hidden parts are together small, gets one more part hidden. A reader can combine many sums at
once: an IDACI decile, less the wards and IMD deciles that overlap it, less the small areas the
map shows, can leave one small area whose every sum had two or more hidden parts (the
disclosure audit found 24 such counts on the demo). So everything one joint result shows is
solved here as one system of linear equations, as the audit (tests/test_disclosure_audit.py)
does, and more cells are hidden until no hidden count from 1 to the threshold is in its span.

The model.

* **Atoms.** Every combination of place values a child has (small area, ward, locality,
  deciles, quintiles), and one for no known place. A slice of any place slicing is a set of
  atoms; the whole authority is all of them. A place with no units in a period has no row
  there, so a reader knows its counts are zero: its atoms drop out of that period.
* **Blocks and parts.** The counts behind the rows are one unknown per atom for each (period,
  indicator, category, numerator or denominator). A reader knows identities between them, so
  they are written in fewer unknowns, the *parts* of an indicator: a distribution's categories
  (its denominator is their sum); a proportion's numerator and its denominator (two parts: its
  complement is their difference); an indicator of ``LINKED`` is its distribution's parts (B1.1's
  numerator is B1.3's cin + cp + looked after, its denominator B1.3's), used only where the rows
  show the identity holds. A year whose units are exactly its halves' (its halves are slices of
  ``half``, aggregate._adds_up) is its first half plus its second: only the halves have
  unknowns. A *layer* is one part of one indicator in one period: an unknown per atom.
* **Equations.** Each numerator or denominator shown: the sum of its parts over its slice's
  atoms equals the value. (A share is only ever shown with its count.)
* **Recoverable.** A hidden count, complement (denominator − numerator) or cohort
  (denominator) is recoverable when its vector lies in the row space of the equations. In each
  layer, atoms that no equation tells apart are one unknown (exact: every equation is constant
  on them); a count that splits such a class is not recoverable. Layers that no equation joins
  (a proportion's numerators and denominators, periods that do not add up) are solved apart,
  by an eigendecomposition of each group's Gram matrix.

The fix, for each recoverable count (smallest first): the cheaper of

* one shown equation that every way of recovering it needs (leverage 1): hidden, it frees a
  direction along which the count moves and nothing still shown changes;
* a *move*: a unit moved around a box of two layers (one part in both halves, two parts in one
  period, or one layer alone) by a pattern of atoms (this small area against another, alone,
  or a cycle of four: two areas of one ward against two of another, the first of each in one
  decile and the second in another). Hidden, the equations the move changes leave the count
  free to move.

A cell costs its count plus one (small cells first); the whole authority (of a half, of the
year) costs far more than anything else, so it is hidden only when nothing else works. A move
chosen for one count often frees others: they are skipped. The chosen cells go to ``protect``
with everything hidden so far, which protects them like any other hidden cell, and the result
is checked again. Hiding only takes equations away, so nothing becomes recoverable that was
not, and each pass hides at least one more cell: the loop ends (in practice the second check
finds nothing).

Linked sets (``suppression.linked_component``) share no sums, so each is checked, and
re-protected, on its own. Only counted statistics (proportions and distributions) are
modelled, as in ``protect``'s secondary suppression.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from framework.engine.summaries import KEY_SEPARATOR, UNKNOWN, WHOLE
from framework.engine.suppression import (
    APART,
    COUNTED,
    LINKED,
    Nesting,
    canonical_order,
    linked_component,
    protect,
)

RESIDUAL = 1e-7  # a projection residual below this (relative) is zero: the count is recoverable
EIGEN = 1e-10  # eigenvalues of the Gram matrix below this (relative) are zero
WHOLE_OF_HALF_COST = 1e9  # hiding the whole authority (a half's, a year's) only if nothing
WHOLE_OF_YEAR_COST = 1e12  # else works
# Cycles of four atoms are searched in the cheapest box of layers, from the count's atom with
# the cheapest pair, through the 6 atoms nearest it (those making the cheapest pairs with it).
CYCLE_BOXES, CYCLE_STARTS, CYCLE_NEAR = 1, 1, 6


def close_differencing_gaps(
    frame: pd.DataFrame,
    protected: pd.DataFrame,
    threshold: int,
    *,
    places: pd.DataFrame,
    nested: tuple[Nesting, ...] = (),
    apart: tuple[str, ...] = APART,
    half: str = "half",
    part: str = "period",
) -> pd.DataFrame:
    """``protected`` (``protect(frame, threshold, nested=nested, apart=apart)``) with more
    cells hidden until no hidden count from 1 to the threshold can be worked out from what it
    shows (see the module docstring).

    ``frame``: the rows before protection (a year's and its halves', every place slicing, with
    a ``period`` column); a half's rows are slices of ``half`` when the halves add up to the
    year, of ``part`` when they do not. ``places``: the place dimensions (columns) of the
    children, one row per child (duplicates are fine): the atoms."""
    # Which cells are hidden must not depend on the order of the rows (see ``protect``): work
    # in the canonical order, and give the rows back in theirs.
    frame = frame.reset_index(drop=True)
    order = canonical_order(frame)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    frame = frame.take(order).reset_index(drop=True)
    protected = protected.reset_index(drop=True).take(order).reset_index(drop=True)
    with _one_blas_thread():
        out = _close(frame, protected, threshold, places, nested, apart, half, part)
    return out.take(back).reset_index(drop=True)


def _close(frame, protected, threshold, places, nested, apart, half, part) -> pd.DataFrame:
    cells = _Cells.parse(frame, places, half, part)
    if cells is None:
        return protected
    pending = list(range(cells.components))
    # Hiding more only takes equations away, so a count not recoverable now never becomes
    # so: each check after the first looks only at the counts the one before found.
    suspect = np.ones((len(cells.row), 3), dtype=bool)  # per row: numerator, complement, cohort
    for _ in range(len(frame) + 1):  # each pass hides one more cell of each pending set
        hidden_count, hidden_cohort = _hidden(frame, protected)
        extra_count = np.zeros(len(frame), dtype=bool)
        extra_cohort = np.zeros(len(frame), dtype=bool)
        leaking, again, found = [], [], np.zeros_like(suspect)
        for component in pending:
            system = _System(cells, component, protected, threshold, suspect)
            chosen = system.cells_to_hide()
            for rows, with_cohort in chosen:
                (extra_cohort if with_cohort else extra_count)[rows] = True
            if chosen:
                leaking.append(component)
                found[system.found.cell, system.found.what] = True
                # A move of whole units is exact: once its cells are hidden, the counts it
                # moves are free, which needs no check. A move worked out in floating point
                # (``_Solved.critical``) is checked again.
                if not system.exact:
                    again.append(component)
        suspect = found
        if not leaking:
            return protected
        rows = np.flatnonzero(np.isin(cells.frame_component, leaking))
        protected = _replaced(
            protected,
            rows,
            protect(
                frame.iloc[rows],
                threshold,
                nested=nested,
                apart=apart,
                hide_counts=(hidden_count | extra_count)[rows],
                hide_cohorts=(hidden_cohort | extra_cohort)[rows],
            ),
        )
        if not again:
            return protected
        pending = again
    raise AssertionError("unreachable: every pass hides at least one more cell")


@contextlib.contextmanager
def _one_blas_thread():
    """Run this thread's linear algebra on one thread. The matrices here are small and
    many: OpenBLAS's threads, when another process holds a core (the app's background
    precompute), wait on each other at every call, making an eigendecomposition 10–30 times
    slower. OpenBLAS (0.3.27 on) can set this for the calling thread alone; elsewhere this
    does nothing."""
    setter = _blas_threads_setter()
    if setter is None:
        yield
        return
    before = setter(1)
    try:
        yield
    finally:
        setter(before)


@functools.cache
def _blas_threads_setter():
    """OpenBLAS's ``openblas_set_num_threads_local`` from numpy's own copy, or None."""
    libraries = Path(np.__file__).resolve().parent
    for path in sorted([*libraries.parent.glob("numpy.libs/*openblas*"), *libraries.glob(
        ".dylibs/*openblas*"
    )]):  # fmt: skip
        try:
            setter = ctypes.CDLL(str(path)).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        setter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]
        return setter
    return None


def _hidden(frame: pd.DataFrame, protected: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(rows whose count is hidden, rows whose cohort is hidden too) in ``protected``."""
    count = protected["suppressed"].fillna(False).to_numpy(dtype=bool)
    cohort = np.zeros(len(frame), dtype=bool)
    for column in ("denominator", "units"):
        if column in frame and column in protected:
            before = frame[column].notna().to_numpy(dtype=bool)
            cohort |= before & protected[column].isna().to_numpy(dtype=bool)
    return count, count & cohort


def _replaced(protected: pd.DataFrame, rows: np.ndarray, again: pd.DataFrame) -> pd.DataFrame:
    """``protected`` with the rows at ``rows`` replaced by ``again`` (in the same order)."""
    kept = protected.drop(index=rows)
    return pd.concat([kept, again.set_axis(rows)]).sort_index()


# --- the rows, parsed once ------------------------------------------------------------------


@dataclass
class _Owner:
    """An indicator whose parts are unknowns (a ``LINKED`` indicator is its distribution's)."""

    parts: int  # a distribution's categories; a proportion's numerator and denominator
    adds_up: bool  # its year is its halves (its halves are slices of ``half``)
    total: np.ndarray  # the parts its denominator counts (a proportion's: the second)
    live: dict[int, np.ndarray] = field(default_factory=dict)  # period -> atoms with units

    def periods(self, period: int) -> tuple[int, ...]:
        """The periods whose unknowns make up this period's counts."""
        return (1, 2) if self.adds_up and period == 0 else (period,)


@dataclass
class _Cells:
    """The counted rows of the result with status ok, in a place slicing, parsed once: each
    row's owner, period (0 the year, 1 and 2 its halves), place slice (an index into
    ``members``), and the parts of its owner its numerator and its denominator count."""

    row: np.ndarray  # position in the frame
    owner: np.ndarray
    period: np.ndarray
    place: np.ndarray
    numerator_parts: np.ndarray  # row × part: 1 where its numerator counts the part
    denominator_parts: np.ndarray  # row × part: 1 where its denominator counts the part
    whole: np.ndarray  # 0 a place, 1 the whole authority in a half, 2 in the year
    numerator: np.ndarray
    denominator: np.ndarray
    owners: list[_Owner]
    members: np.ndarray  # place slice × atom: whether the atom lies in the slice
    slicing: np.ndarray  # the place slicing of each place slice (a number)
    component: np.ndarray  # the linked set of each row (a number)
    frame_component: np.ndarray  # the linked set of each row of the frame (-1: none)
    components: int

    @classmethod
    def parse(cls, frame: pd.DataFrame, places: pd.DataFrame, half: str, part: str):
        statistic = frame["statistic"].astype(str).to_numpy(dtype=object)
        counted = np.isin(statistic, COUNTED) & (frame["status"] == "ok").to_numpy(dtype=bool)
        if not counted.any():
            return None
        periods = _Periods.of(frame, counted, places, half, part)
        owners = _owners(frame, counted, statistic, periods)
        if owners is None:
            return None
        owner_of_row, mask_of_row, found, names = owners
        rows = np.flatnonzero(counted & (periods.place >= 0))
        width = max(owner.parts for owner in found)
        totals = np.array([np.pad(o.total, (0, width - o.parts)) for o in found])
        cells = cls(
            row=rows,
            owner=owner_of_row[rows],
            period=periods.period[rows],
            place=periods.place[rows],
            numerator_parts=((mask_of_row[rows, None] >> np.arange(width)) & 1).astype(float),
            denominator_parts=totals[owner_of_row[rows]].reshape(len(rows), width),
            whole=periods.whole[rows],
            numerator=_floats(frame, "numerator")[rows],
            denominator=_floats(frame, "denominator")[rows],
            owners=found,
            members=periods.members,
            slicing=periods.slicing,
            component=np.zeros(len(rows), dtype=np.int64),
            frame_component=np.full(len(frame), -1, dtype=np.int64),
            components=0,
        )
        cells._find_live()
        cells._find_components(frame, names)
        return cells

    def _find_live(self) -> None:
        """Per owner and period, the atoms with units: those in a slice present in every
        place slicing of the owner's rows (a place with no units has no row)."""
        for index, owner in enumerate(self.owners):
            mine = self.owner == index
            for period in np.unique(self.period[mine]):
                slices = np.unique(self.place[mine & (self.period == period)])
                live = np.ones(self.members.shape[1], dtype=bool)
                for slicing in np.unique(self.slicing[slices]):
                    live &= self.members[slices[self.slicing[slices] == slicing]].any(axis=0)
                owner.live[int(period)] = live

    def _find_components(self, frame: pd.DataFrame, names: list[str]) -> None:
        """Owners protected together (``linked_component``) and the frame's rows of each."""
        indicators = frame["indicator_id"].astype(str).to_numpy(dtype=object)
        present = set(indicators)
        numbers: dict[tuple[str, ...], int] = {}
        of_owner = np.zeros(len(names), dtype=np.int64)
        for index, name in enumerate(names):
            component = tuple(i for i in linked_component([name]) if i in present)
            number = numbers.setdefault(component, len(numbers))
            of_owner[index] = number
            self.frame_component[np.isin(indicators, component)] = number
        self.component = of_owner[self.owner]
        self.components = len(numbers)


@dataclass
class _Periods:
    """Each row's period (0 the year, 1 and 2 its halves), place slice (-1: a slicing by
    something other than places), whether it is the whole authority, and whether it is a half
    that adds up to its year; the place slices as sets of atoms."""

    period: np.ndarray
    halves: np.ndarray
    place: np.ndarray
    whole: np.ndarray
    members: np.ndarray
    slicing: np.ndarray

    @classmethod
    def of(cls, frame, counted, places: pd.DataFrame, half: str, part: str) -> _Periods:
        atoms = _atoms(places)
        labels = frame["slice"].astype(str).to_numpy(dtype=object)
        keys = frame["key"].astype("string").fillna("").to_numpy(dtype=object)
        period = np.zeros(len(frame), dtype=np.int64)
        halves = np.zeros(len(frame), dtype=bool)
        place = np.full(len(frame), -1, dtype=np.int64)
        whole = np.zeros(len(frame), dtype=np.int64)
        catalogue: dict[tuple[str, str], int] = {}
        members, slicing, slicings = [], [], {}
        for label in pd.unique(labels[counted]):
            at = np.flatnonzero(counted & (labels == label))
            dims = [] if label == WHOLE else label.split("×")
            prefix = 1 if dims and dims[0] in (half, part) else 0
            mine = keys[at]
            if prefix:  # a half's rows: the half is the key's first value
                head, _, mine = np.char.partition(mine.astype(str), KEY_SEPARATOR).T
                period[at] = head.astype(np.int64)
                halves[at] = dims[0] == half
            inside = dims[prefix:]
            if not set(inside) <= set(atoms.columns):
                continue  # a slicing by something else (e.g. groups): not modelled
            whole[at] = 0 if inside else (1 if prefix else 2)
            name = "×".join(inside)
            number = slicings.setdefault(name, len(slicings))
            atom_keys = _keys(atoms, inside)
            codes, distinct = pd.factorize(pd.Series(mine, dtype=object))
            for key in distinct:
                if (name, key) not in catalogue:
                    catalogue[(name, key)] = len(members)
                    members.append(atom_keys == key)
                    slicing.append(number)
            place[at] = np.array([catalogue[(name, key)] for key in distinct])[codes]
        members = np.array(members, dtype=bool).reshape(len(members), len(atoms))
        return cls(period, halves, place, whole, members, np.array(slicing, dtype=np.int64))


def _owners(frame, counted, statistic, periods: _Periods):
    """(each row's owner, each row's numerator mask, the owners, their indicators), or None.

    An indicator of ``LINKED`` belongs to its distribution when the rows show that it is made of
    it (numerators and denominators equal on every slice); otherwise it is its own owner."""
    indicators = frame["indicator_id"].astype(str).to_numpy(dtype=object)
    code, names = pd.factorize(indicators)
    if "category" in frame:
        categories = frame["category"].astype("string").fillna("").to_numpy(dtype=object)
    else:
        categories = np.full(len(frame), "", dtype=object)
    usable = counted & (periods.place >= 0)
    rows_of = {name: usable & (code == k) for k, name in enumerate(names)}
    rows_of = {name: at for name, at in rows_of.items() if at.any()}
    if not rows_of:
        return None
    kind = {name: statistic[at][0] for name, at in rows_of.items()}
    # A proportion's unknowns are its numerator and its denominator (not numerator and
    # complement): its equations then fall into two independent systems, solved apart.
    parts = {
        name: list(pd.unique(categories[at]))
        if kind[name] == "distribution"
        else ["numerator", "denominator"]
        for name, at in rows_of.items()
    }
    owner_of = {name: name for name in rows_of}
    counts = {}  # a linked indicator: the categories its numerator counts
    for single, distribution, inside in LINKED:
        pair = (kind.get(single), kind.get(distribution)) == ("proportion", "distribution")
        if pair and _made_of(frame, usable, indicators, categories, single, distribution, inside):
            owner_of[single] = distribution
            counts[single] = inside
    owned = [name for name in rows_of if owner_of[name] == name]
    number = {name: owned.index(owner_of[name]) for name in rows_of}
    owner_of_row = np.full(len(frame), -1, dtype=np.int64)
    mask_of_row = np.zeros(len(frame), dtype=np.int64)
    for name, at in rows_of.items():
        owner_of_row[at] = number[name]
        own = parts[owner_of[name]]
        if name in counts:
            mask_of_row[at] = sum(1 << own.index(c) for c in counts[name] if c in own)
        elif kind[name] == "distribution":
            bit = {c: 1 << i for i, c in enumerate(own)}
            mask_of_row[at] = [bit[c] for c in categories[at]]
        else:
            mask_of_row[at] = 1  # its numerator
    found = [
        _Owner(
            parts=len(parts[name]),
            adds_up=bool(periods.halves[rows_of[name]].any()),
            total=np.ones(len(parts[name])) if kind[name] == "distribution" else np.eye(2)[1],
        )
        for name in owned
    ]
    return owner_of_row, mask_of_row, found, owned


def _made_of(frame, usable, indicators, categories, single, distribution, inside) -> bool:
    """Whether ``single``'s rows are its distribution's: the same slices, its numerator the
    sum of the ``inside`` categories, its denominator the distribution's."""
    columns = [c for c in ("period", "slice", "key") if c in frame]
    mine = frame.loc[usable & (indicators == single), [*columns, "numerator", "denominator"]]
    theirs = frame.loc[usable & (indicators == distribution), [*columns, "denominator"]]
    theirs = theirs.assign(
        counted=np.where(
            np.isin(categories[usable & (indicators == distribution)], inside),
            _floats(frame, "numerator")[usable & (indicators == distribution)],
            0.0,
        )
    )
    summed = theirs.groupby(columns, dropna=False).agg(
        counted=("counted", "sum"), total=("denominator", "first")
    )
    mine = mine.set_index(columns)
    if len(mine) != len(summed) or not mine.index.isin(summed.index).all():
        return False
    summed = summed.reindex(mine.index)
    return bool(
        np.allclose(mine["numerator"].to_numpy(float), summed["counted"].to_numpy(float))
        and np.allclose(mine["denominator"].to_numpy(float), summed["total"].to_numpy(float))
    )


def _atoms(places: pd.DataFrame) -> pd.DataFrame:
    """Every combination of place values (written as the slices' keys write them), and one
    for no known place at all (a unit whose child has no row of places)."""
    text = places.astype("string").fillna(UNKNOWN)
    nowhere = pd.DataFrame([dict.fromkeys(text.columns, UNKNOWN)], dtype="string")
    atoms = pd.concat([text, nowhere], ignore_index=True).drop_duplicates()
    return atoms.sort_values(list(atoms.columns), ignore_index=True)  # in one order, always


def _keys(atoms: pd.DataFrame, dims: list[str]) -> np.ndarray:
    """Each atom's key in the slicing by ``dims`` ("" in the whole)."""
    if not dims:
        return np.full(len(atoms), "", dtype=object)
    key = atoms[dims[0]]
    for dim in dims[1:]:
        key = key.str.cat(atoms[dim], sep=KEY_SEPARATOR)
    return key.to_numpy(dtype=object)


def _floats(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return frame[column].to_numpy(dtype=float, na_value=np.nan)


# --- one linked set: its equations, the counts to protect, and what to hide -----------------


@dataclass
class _Lines:
    """Equations (or counts to protect), one per entry: the row (an index into ``_Cells``'
    arrays), its coefficients over its owner's parts, its value, and what it is (0 the
    row's numerator, 1 its complement, 2 its denominator: hiding that hides its cohort)."""

    cell: np.ndarray
    parts: np.ndarray
    value: np.ndarray
    what: np.ndarray

    @classmethod
    def join(cls, *pieces: tuple) -> _Lines:
        cell, parts, value, what = (
            np.concatenate([piece[i] for piece in pieces]) for i in range(4)
        )
        return cls(cell.astype(np.int64), parts, value, what.astype(np.int64))

    def __getitem__(self, chosen) -> _Lines:
        return _Lines(self.cell[chosen], self.parts[chosen], self.value[chosen], self.what[chosen])

    @property
    def cohort(self) -> np.ndarray:
        return self.what == 2


@dataclass
class _Layer:
    """The unknowns of one part of one owner in one period: one per class of its live atoms
    (atoms no equation involving the layer tells apart are one class)."""

    key: tuple[int, int, int]  # (owner, period, part)
    start: int  # its first column
    live: np.ndarray  # its atoms with units
    klass: np.ndarray  # the class of each live atom
    first: np.ndarray  # a live atom (its position in ``live``) of each class


class _System:
    """What one linked set shows, as linear equations over its unknowns (see the module
    docstring), and its hidden small counts as vectors over the same unknowns."""

    def __init__(self, cells: _Cells, component: int, protected: pd.DataFrame, threshold, suspect):
        self.cells = cells
        here = np.flatnonzero(cells.component == component)
        rows = cells.row[here]
        shown_n = protected["numerator"].notna().to_numpy(dtype=bool)[rows]
        shown_d = protected["denominator"].notna().to_numpy(dtype=bool)[rows]
        hidden = protected["suppressed"].fillna(False).to_numpy(dtype=bool)[rows]
        top, total = cells.numerator_parts[here], cells.denominator_parts[here]
        n, d = cells.numerator[here], cells.denominator[here]
        self.equations = _Lines.join(
            (here[shown_n], top[shown_n], n[shown_n], np.zeros(shown_n.sum())),
            (here[shown_d], total[shown_d], d[shown_d], np.full(shown_d.sum(), 2)),
        )

        def small(values: np.ndarray) -> np.ndarray:
            return hidden & (values > 0) & (values <= threshold)

        count, rest, cohort = small(n), small(d - n), small(d) & ~shown_d
        targets = _Lines.join(
            (here[count], top[count], n[count], np.zeros(count.sum())),
            (here[rest], (total - top)[rest], (d - n)[rest], np.ones(rest.sum())),
            (here[cohort], total[cohort], d[cohort], np.full(cohort.sum(), 2)),
        )
        self.targets = targets[suspect[targets.cell, targets.what]]
        self.found = self.targets[np.zeros(len(self.targets.cell), dtype=bool)]
        self.exact = True  # every move chosen is of whole units (see ``_close``)
        self._find_layers()

    def _touches(self, lines: _Lines):
        """For each (owner, period, part) layer: the lines that involve it and their
        coefficients on it (a year's line involves both halves where they add up)."""
        cells = self.cells
        owner, period = cells.owner[lines.cell], cells.period[lines.cell]
        found: dict[tuple[int, int, int], list[tuple[np.ndarray, np.ndarray]]] = {}
        pairs, which = np.unique(np.stack([owner, period], axis=1), axis=0, return_inverse=True)
        which = which.reshape(-1)
        for number, (o, h) in enumerate(pairs.tolist()):
            at = np.flatnonzero(which == number)
            for part in range(cells.owners[o].parts):
                involved = at[lines.parts[at, part] != 0]
                if not len(involved):
                    continue
                for p in cells.owners[o].periods(h):
                    found.setdefault((o, p, part), []).append(
                        (involved, lines.parts[involved, part])
                    )
        return found

    def _find_layers(self) -> None:
        cells = self.cells
        touched = self._touches(self.equations)
        keys = list(touched) + [k for k in self._touches(self.targets) if k not in touched]
        self.layers: list[_Layer] = []
        start = 0
        for key in keys:
            live = np.flatnonzero(cells.owners[key[0]].live.get(key[1], np.zeros(0, bool)))
            if not len(live):
                continue  # no units: every count in it is a known zero
            lines = [line for line, _ in touched.get(key, [])]
            cell = self.equations.cell[np.concatenate(lines)] if lines else np.zeros(0, int)
            seen = cells.members[np.unique(cells.place[cell])][:, live]
            klass, first = _distinct(seen.T)
            self.layers.append(_Layer(key, start, live, klass, first))
            start += len(first)
        self.width = start
        self.index = {layer.key: number for number, layer in enumerate(self.layers)}

    def _pieces(self, lines: _Lines):
        """For each layer and the lines involving it: (the layer, the lines, their
        coefficients on it, each line's slice as a row of ``by_class``, the slices as
        classes, whether each slice splits a class)."""
        for key, pieces in self._touches(lines).items():
            if key not in self.index:
                continue  # no units there: zero
            layer = self.layers[self.index[key]]
            for involved, coefficients in pieces:
                slices, which = np.unique(
                    self.cells.place[lines.cell[involved]], return_inverse=True
                )
                inside = self.cells.members[slices][:, layer.live]
                by_class = inside[:, layer.first]
                splits = (inside != by_class[:, layer.klass]).any(axis=1)
                yield layer, involved, coefficients, which.reshape(-1), by_class, splits

    def splits(self, lines: _Lines) -> np.ndarray:
        """Whether each line splits a class of atoms (so is no combination of the
        equations)."""
        out = np.zeros(len(lines.cell), dtype=bool)
        for _, involved, _, which, _, splits in self._pieces(lines):
            out[involved] |= splits[which]
        return out

    def matrix(self, lines: _Lines) -> np.ndarray:
        """The lines as rows over the unknowns."""
        out = np.zeros((len(lines.cell), self.width))
        for layer, involved, coefficients, which, by_class, _ in self._pieces(lines):
            columns = layer.start + np.arange(len(layer.first))
            out[np.ix_(involved, columns)] += coefficients[:, None] * by_class[which]
        return out

    def _groups(self, equations: np.ndarray) -> np.ndarray:
        """The group (a number) of layers of each column: layers that no equation joins are
        solved apart (a proportion's numerators and denominators; periods that do not add
        up)."""
        parent = np.arange(len(self.layers))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        starts = np.array([layer.start for layer in self.layers])
        involved = np.add.reduceat(equations != 0, starts, axis=1) > 0 if len(starts) else None
        for pattern in _distinct_rows(involved) if involved is not None else []:
            layers = np.flatnonzero(pattern)
            for other in layers[1:]:
                parent[root(other)] = root(layers[0])
        self.layer_group = np.array([root(i) for i in range(len(self.layers))], dtype=np.int64)
        sizes = np.diff(np.r_[starts, self.width])
        return np.repeat(self.layer_group, sizes)

    def cells_to_hide(self) -> list[tuple[np.ndarray, bool]]:
        """(frame rows, whether to hide their cohort too) whose hiding leaves no hidden small
        count of this set recoverable; empty when none is recoverable now."""
        if not len(self.targets.cell) or not len(self.equations.cell) or not self.width:
            return []
        keep = np.flatnonzero(~self.splits(self.targets))
        targets = self.matrix(self.targets[keep])
        keep, targets = keep[targets.any(axis=1)], targets[targets.any(axis=1)]
        if not len(keep):
            return []
        # The same count is often a target several times (B1.1's denominator is B1.3's…),
        targets, once, _ = _unique_rows(targets)
        keep = keep[once]
        # … and the same equation is often shown several times: it is one equation.
        unique, first, group = _unique_rows(self.matrix(self.equations))
        solved = _Solved(unique, self._groups(unique), targets.any(axis=0))
        recoverable = np.flatnonzero(solved.recoverable(targets))
        if not len(recoverable):
            return []
        self.found = self.targets[keep[recoverable]]
        chosen = self._choose(targets[recoverable], unique, first, group, solved)
        return self._rows_of(chosen, group)

    def _choose(self, targets, unique, first, group, solved) -> set[int]:
        """The distinct equations to hide so that none of ``targets`` (recoverable, rows
        over the unknowns, in ``self.found``'s order) can be worked out any more."""
        cost = self._costs(first, group, len(unique))
        starts = [layer.start for layer in self.layers]
        layers = np.add.reduceat(unique != 0, starts, axis=1) > 0  # equation × layer
        atoms = self.cells.members[self.cells.place[self.equations.cell[first]]]
        sizes = np.linalg.norm(targets, axis=1)
        broken = np.zeros(len(targets), dtype=bool)
        chosen: set[int] = set()
        for j in sorted(range(len(targets)), key=lambda j: (self.found.value[j], j)):
            if broken[j]:
                continue  # a move chosen for another count moves this one too
            place = self.cells.members[self.cells.place[self.found.cell[j]]]
            target_layers = np.add.reduceat(targets[j] != 0, starts) > 0
            options = [
                self._hypercube(layers, atoms, cost, target_layers, place),
                solved.critical(targets[j], cost),
            ]
            choice = min(range(len(options)), key=lambda k: options[k][0])
            _, rows, move = options[choice]
            self.exact &= choice == 0  # a move of whole units, not the critical equation
            chosen |= rows
            left = np.flatnonzero(~broken)  # the counts that change along the move are free
            along = np.abs(targets[left] @ move)
            broken[left] |= along > 1e-9 * np.maximum(sizes[left] * np.linalg.norm(move), 1e-300)
        return chosen

    def _costs(self, first: np.ndarray, group: np.ndarray, size: int) -> np.ndarray:
        """Per distinct equation: its count (small ones first, a zero before anything else),
        and far more for the whole authority."""
        whole = np.zeros(size, dtype=np.int64)
        np.maximum.at(whole, group, self.cells.whole[self.equations.cell])
        extra = np.array([0.0, WHOLE_OF_HALF_COST, WHOLE_OF_YEAR_COST])[whole]
        return self.equations.value[first] + 1.0 + extra

    def _rows_of(self, chosen: set[int], group: np.ndarray) -> list[tuple[np.ndarray, bool]]:
        if not chosen:
            return []
        lines = np.isin(group, list(chosen))
        rows = self.cells.row[self.equations.cell[lines]]
        cohort = self.equations.cohort[lines]
        return [(rows[~cohort], False), (rows[cohort], True)]

    def _hypercube(self, layers, atoms, cost, target_layers, target_atoms):
        """(cost, distinct equations to hide, the move they allow): the cheapest move found of
        a unit around a box of two layers (one part in both halves, or two parts in one
        period; or one layer alone) by a pattern over the atoms (see ``_pair`` and
        ``_cycle``) that changes the count. Hidden, the equations it changes let the count
        move."""
        boxes = []
        for one in np.flatnonzero(target_layers):
            _, period, part = self.layers[one].key
            # A second layer that no equation shares with the first only adds the equations
            # it is in: such a box never beats the first layer alone.
            others = [
                other
                for other in np.flatnonzero(
                    ~target_layers & (self.layer_group == self.layer_group[one])
                )
                if self.layers[other].key[1] == period or self.layers[other].key[2] == part
            ]
            for other in [None, *others]:
                side = layers[:, one] if other is None else layers[:, one] != layers[:, other]
                live = self._live(one) & (True if other is None else self._live(other))
                if not (target_atoms & live).any():
                    continue
                rows = np.flatnonzero(side)
                member = atoms[rows].astype(float)
                pattern, total, pairs = _pair(member, cost[rows], target_atoms, live)
                boxes.append((total, one, other, rows, member, pattern, live, pairs))
        boxes.sort(key=lambda box: box[0])
        best = boxes[0][:4] + boxes[0][5:6]  # (cost, one, other, rows, pattern)
        for _, one, other, rows, member, pattern, live, pairs in boxes[:CYCLE_BOXES]:
            # A cycle can do better only where the pair changes a place of several atoms (a
            # ward, a decile): the cycle may change small areas alone instead.
            if (np.abs(member @ pattern)[member.sum(axis=1) > 1] > 0).any():
                found = _cycle(member, cost[rows], target_atoms, live, pairs)
                if found is not None and found[1] < best[0]:
                    best = (found[1], one, other, rows, found[0])
        total, one, other, rows, pattern = best
        return (total, *self._box(rows, atoms, one, other, pattern))

    def _box(self, rows, atoms, one, other, pattern):
        """(the distinct equations a move changes, the move over the unknowns)."""
        changed = atoms[rows].astype(float) @ pattern != 0
        move = np.zeros(self.width)
        for layer, sign in ((one, 1.0), (other, -1.0)):
            if layer is not None:
                found = self.layers[layer]
                np.add.at(move, found.start + found.klass, sign * pattern[found.live])
        return set(rows[changed].tolist()), move

    def _live(self, layer: int) -> np.ndarray:
        live = np.zeros(self.cells.members.shape[1], dtype=bool)
        live[self.layers[layer].live] = True
        return live


class _Solved:
    """The row space of the distinct equations, per group of columns that no equation joins
    (an eigendecomposition of each group's Gram matrix), in the groups ``wanted`` (the
    columns of the counts to test) touches."""

    def __init__(self, unique: np.ndarray, column_group: np.ndarray, wanted: np.ndarray):
        self.unique = unique
        self.parts = []  # (columns, equations, basis, square roots of the eigenvalues)
        row_group = column_group[np.argmax(unique != 0, axis=1)]
        for group in np.unique(column_group[wanted]):
            columns = np.flatnonzero(column_group == group)
            rows = np.flatnonzero(row_group == group)
            sub = unique[np.ix_(rows, columns)]
            eigenvalues, vectors = np.linalg.eigh(sub.T @ sub)
            kept = eigenvalues > EIGEN * max(eigenvalues.max(initial=0.0), 1.0)
            self.parts.append((columns, rows, vectors[:, kept], np.sqrt(eigenvalues[kept])))
        self.left: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def recoverable(self, targets: np.ndarray) -> np.ndarray:
        """Whether each target lies in the row space."""
        residual = np.zeros(len(targets))
        for columns, _, basis, _ in self.parts:
            touching = np.flatnonzero(targets[:, columns].any(axis=1))
            part = targets[np.ix_(touching, columns)]
            residual[touching] += np.square(part - (part @ basis) @ basis.T).sum(axis=1)
        size = np.maximum(1.0, np.linalg.norm(targets, axis=1))
        return np.sqrt(residual) <= RESIDUAL * size

    def critical(self, target: np.ndarray, cost: np.ndarray):
        """(cost, {the cheapest equation every way of recovering the target needs}, the move
        hiding it allows), or infinite cost when there is none. Such an equation has leverage
        1 (no combination of the others gives it) and a weight in the target's least-norm
        combination; hidden, the pseudo-inverse of the Gram matrix times it is a direction
        no other equation sees and the target does."""
        best = (np.inf, set(), None)
        for number, (columns, rows, basis, root) in enumerate(self.parts):
            part = target[columns]
            if not part.any() or not len(root):
                continue
            left, leverage = self._left(number)
            weights = left @ ((part @ basis) / root)
            needed = np.abs(weights) > 1e-9 * np.abs(weights).max(initial=0.0)
            critical = np.flatnonzero(needed & (leverage > 1 - 1e-6))
            if not len(critical):
                continue
            i = critical[np.argmin(cost[rows[critical]])]
            if cost[rows[i]] < best[0]:
                move = np.zeros(len(target))
                move[columns] = basis @ (left[i] / root)
                best = (cost[rows[i]], {int(rows[i])}, move)
        return best

    def _left(self, number: int) -> tuple[np.ndarray, np.ndarray]:
        """(the left singular vectors of a group, each equation's leverage)."""
        if number not in self.left:
            columns, rows, basis, root = self.parts[number]
            left = (self.unique[np.ix_(rows, columns)] @ basis) / root
            self.left[number] = (left, (left * left).sum(axis=1))
        return self.left[number]


def _unique_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the distinct rows, the first row of each, the distinct row of each row)."""
    small = matrix.astype(np.int8)  # the entries are small whole numbers: compare them as bytes
    if not np.array_equal(small, matrix):
        small = matrix
    packed = np.ascontiguousarray(small).view(f"V{matrix.shape[1] * small.itemsize}")
    _, first, group = np.unique(packed.ravel(), return_index=True, return_inverse=True)
    return matrix[first], first, group.reshape(-1)


def _pair(member, weight, target_atoms, live):
    """(a pattern over the atoms, its cost, the cost of each pair): +1 on one live atom of the
    count's place, and -1 on one outside it or nowhere, whichever changes the cheapest
    equations (``member``: equation × atom)."""
    inside = np.flatnonzero(target_atoms & live)
    outside = np.flatnonzero(~target_atoms & live)
    alone = weight @ member  # an atom alone changes every equation it is in
    crossed = (member[:, inside] * weight[:, None]).T @ member[:, outside]
    pairs = alone[inside][:, None] + alone[None, outside] - 2 * crossed
    pattern = np.zeros(member.shape[1])
    single = int(np.argmin(alone[inside]))
    if pairs.size and pairs.min() < alone[inside][single]:
        x, y = np.unravel_index(int(np.argmin(pairs)), pairs.shape)
        pattern[inside[x]], pattern[outside[y]] = 1.0, -1.0
        return pattern, float(pairs[x, y]), pairs
    pattern[inside[single]] = 1.0
    return pattern, float(alone[inside][single]), pairs


def _cycle(member, weight, target_atoms, live, pairs):
    """(a pattern, its cost) of a cycle of four atoms (+1 -1 -1 +1: two small areas of one
    ward against two of another, the first of each in one decile and the second in
    another), from the count's atoms with the cheapest pairs through their nearest atoms
    outside it; None when there are too few."""
    inside = np.flatnonzero(target_atoms & live)
    outside = np.flatnonzero(~target_atoms & live)
    if outside.size < 2 or not pairs.size:
        return None
    best = None
    for x in np.argsort(pairs.min(axis=1))[:CYCLE_STARTS]:
        near = outside[np.argsort(pairs[x])[:CYCLE_NEAR]]
        y, z = np.array(list(itertools.combinations(near, 2))).T
        rest = member[:, inside[x], None] - member[:, y] - member[:, z]  # equation × (y, z)
        changed = (rest[:, :, None] + member[:, None]) != 0
        costs = (weight @ changed.reshape(len(weight), -1)).reshape(len(y), -1)
        costs[:, ~live] = np.inf  # (a place with no units cannot take one)
        costs[:, inside[x]] = np.inf
        costs[np.arange(len(y)), y] = costs[np.arange(len(y)), z] = np.inf
        p, w = np.unravel_index(int(np.argmin(costs)), costs.shape)
        if best is None or costs[p, w] < best[1]:
            pattern = np.zeros(member.shape[1])
            pattern[inside[x]], pattern[y[p]], pattern[z[p]], pattern[w] = 1, -1, -1, 1
            best = (pattern, float(costs[p, w]))
    return best


def _distinct(seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the class of each row of a boolean matrix, a row of each class): equal rows are one
    class."""
    if not seen.shape[1]:
        return np.zeros(len(seen), dtype=np.int64), np.zeros(min(len(seen), 1), dtype=np.int64)
    packed = np.ascontiguousarray(np.packbits(seen, axis=1))
    _, first, klass = np.unique(
        packed.view(f"V{packed.shape[1]}").ravel(), return_index=True, return_inverse=True
    )
    return klass.reshape(-1), first


def _distinct_rows(matrix: np.ndarray) -> np.ndarray:
    """The distinct rows of a boolean matrix."""
    _, first = _distinct(matrix)
    return matrix[first]


__all__ = ["close_differencing_gaps"]
