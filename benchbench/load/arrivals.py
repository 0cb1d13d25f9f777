"""When an open loop sends its requests: seconds after the load point starts, from a seeded RNG.

- constant: every 1/rate s;
- poisson: exponential gaps with mean 1/rate (a Poisson process);
- gamma: gamma gaps with shape `burstiness` and scale 1/(rate·burstiness), so the mean gap stays
  1/rate; burstiness 1 is Poisson, below 1 burstier, above 1 more regular (vLLM's definition);
- rate inf: everything at t = 0 (vLLM's `--request-rate inf`).

Unlike vLLM, the gaps are not rescaled afterwards to make the last arrival land on n/rate: the
process stays a true Poisson (or gamma renewal) process, which the tests check with a KS test.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator


def arrival_times(rate: float, arrival: str, burstiness: float = 1.0, seed: int = 0) -> Iterator[float]:
    """An endless sequence of send times (s after the start), non-decreasing, starting with 0."""
    if rate <= 0:
        raise ValueError(f"request rate must be positive, got {rate}")
    rng = random.Random(seed)
    t = 0.0
    yield t
    while True:
        t += gap(rng, rate, arrival, burstiness)
        yield t


def gap(rng: random.Random, rate: float, arrival: str, burstiness: float = 1.0) -> float:
    """One inter-arrival gap in seconds."""
    if math.isinf(rate):
        return 0.0
    if arrival == "constant":
        return 1.0 / rate
    if arrival == "poisson":
        return rng.expovariate(rate)
    if arrival == "gamma":
        return rng.gammavariate(burstiness, 1.0 / (rate * burstiness))
    raise ValueError(f"unknown arrival {arrival!r}")


def ks_exponential(gaps: list[float], rate: float) -> tuple[float, float]:
    """Kolmogorov–Smirnov statistic D of `gaps` against Exp(rate), and its asymptotic p-value
    (Kolmogorov's series), for checking a Poisson schedule without scipy."""
    xs = sorted(gaps)
    n = len(xs)
    if n == 0:
        raise ValueError("no gaps")
    d = 0.0
    for i, x in enumerate(xs):
        cdf = 1.0 - math.exp(-rate * x)
        d = max(d, (i + 1) / n - cdf, cdf - i / n)
    return d, kolmogorov_p(d * (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)))


def kolmogorov_p(lam: float) -> float:
    """P(K > lam) for the Kolmogorov distribution: 2 Σ (−1)^(k−1) exp(−2 k² lam²)."""
    if lam < 0.2:
        return 1.0
    total = sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return max(0.0, min(1.0, 2 * total))
