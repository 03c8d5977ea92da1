"""Small random helpers on ``random.Random`` (deterministic for a seed, no global state)."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from itertools import accumulate


class Picker:
    """Weighted choice from ``((value, weight), ...)``, built once and reused."""

    __slots__ = ("cumulative", "total", "values")

    def __init__(self, weights):
        self.values = [value for value, _ in weights]
        self.cumulative = list(accumulate(weight for _, weight in weights))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random):
        index = bisect_right(self.cumulative, rng.random() * self.total)
        return self.values[min(index, len(self.values) - 1)]


def lognormal_days(rng: random.Random, mu_sigma: tuple[float, float], low: int = 1) -> int:
    mu, sigma = mu_sigma
    return max(low, round(rng.lognormvariate(mu, sigma)))


def normal_int(rng: random.Random, mean_sd: tuple[float, float], low: int, high: int) -> int:
    mean, sd = mean_sd
    return min(high, max(low, round(rng.gauss(mean, sd))))


def exponential_days(rng: random.Random, mean: float, low: int = 1) -> int:
    return max(low, round(rng.expovariate(1.0 / mean)))


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    if mean <= 0:
        return 0
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p
