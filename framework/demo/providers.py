"""Where looked-after children live: fictional carers, homes and their Ofsted numbers.

URNs are ``SC99`` + four digits (the ``SC`` + six-digit shape of Ofsted social-care URNs, in
a range chosen to look invented). Adoption placements carry ``XXXXXXX``, the code for a
regional adoption agency. Placement types that need no URN (P1, R1, T0-T4, Z1) get none.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from framework.demo.geography import Demoton

LA_FOSTERING_URN = "SC990100"
ADOPTION_AGENCY_URN = "XXXXXXX"


@dataclass(frozen=True, slots=True)
class Setting:
    """A carer household, home or service: the same carer keeps the same key."""

    key: str
    provider: str  # PLACE_PROVIDER
    postcode: str
    urn: str


class Providers:
    def __init__(self, rng: random.Random, demoton: Demoton):
        self.demoton = demoton
        self._number = 0
        size = max(6, len(demoton.areas) // 12)
        self.agencies = [(f"SC9902{n:02d}", "PR4" if n % 3 else "PR5") for n in range(1, 9)]
        self.homes = [self._home(rng, n, size) for n in range(size)]
        self.supported = [self._supported(rng, n) for n in range(max(4, size // 2))]
        self.secure = [Setting("K1-0", "PR2", demoton.out_of_area(rng), "SC990901")]
        self.parent_baby = [Setting("R3-0", "PR4", demoton.out_of_area(rng), "SC990951")]
        self.care_home = [Setting("R1-0", "PR4", demoton.out_of_area(rng), "")]
        self.hospital = [Setting("T1-0", "", demoton.out_of_area(rng), "")]
        self.other = [Setting(f"Z1-{n}", "", demoton.out_of_area(rng), "") for n in range(3)]
        self._foster_pool: list[Setting] = []
        # each carer household has its own postcode, so two carers never look identical
        self._taken = {s.postcode for s in self.homes + self.supported}

    def _key(self, kind: str) -> str:
        self._number += 1
        return f"{kind}-{self._number}"

    def _local_or_away(self, rng: random.Random) -> str:
        if rng.random() < self.demoton.settings.out_of_area_placement_share:
            return self.demoton.out_of_area(rng)
        return self.demoton.any_postcode(rng)

    def _household_postcode(self, rng: random.Random, near: int = -1) -> str:
        """A postcode no other carer household uses (close to ``near`` area if given)."""
        postcode = ""
        for attempt in range(20):
            if near >= 0 and attempt < 10:
                postcode = self.demoton.postcode_in(rng, near)
            else:
                postcode = self._local_or_away(rng)
            if postcode not in self._taken:
                break
        self._taken.add(postcode)
        return postcode

    def _home(self, rng: random.Random, n: int, size: int) -> Setting:
        own = n < max(2, size // 4)  # a quarter of homes are the council's own
        postcode = self.demoton.any_postcode(rng) if own else self._local_or_away(rng)
        provider = "PR1" if own else ("PR4" if rng.random() < 0.85 else "PR5")
        return Setting(f"K2-{n}", provider, postcode, f"SC9903{n:02d}")

    def _supported(self, rng: random.Random, n: int) -> Setting:
        provider = "PR1" if n == 0 else "PR4"
        return Setting(f"SA-{n}", provider, self._local_or_away(rng), f"SC9904{n:02d}")

    def foster(self, rng: random.Random) -> Setting:
        """A mainstream foster household: often one that has fostered before."""
        if self._foster_pool and rng.random() < 0.6:
            return rng.choice(self._foster_pool)
        if rng.random() < 0.62:
            provider, urn = "PR1", LA_FOSTERING_URN
        else:
            urn, provider = rng.choice(self.agencies)
        setting = Setting(self._key("U"), provider, self._household_postcode(rng), urn)
        self._foster_pool.append(setting)
        return setting

    def kinship(self, rng: random.Random, near: int) -> Setting:
        """Family or friends approved as foster carers: usually close to home."""
        postcode = self._household_postcode(rng, near if rng.random() < 0.8 else -1)
        return Setting(self._key("K"), "PR1", postcode, LA_FOSTERING_URN)

    def adopters(self, rng: random.Random) -> Setting:
        provider = "PR1" if rng.random() < 0.7 else "PR2"
        postcode = self._household_postcode(rng)
        return Setting(self._key("A"), provider, postcode, ADOPTION_AGENCY_URN)

    def home(self, rng: random.Random) -> Setting:
        return rng.choice(self.homes)

    def supported_accommodation(self, rng: random.Random) -> Setting:
        return rng.choice(self.supported)
