"""How close is close enough: distances against the noise floor, and copies of the training sample.

**Noise floor.** A distance between two finite samples is never zero. The reference is split
into two independent halves A and B; every distance between generated and reference events is
computed between a random subset of the generated events of the size of A and the half B,
and divided by the same distance between A and B. Both are averaged over ``SPLITS`` random
splits, so that the floor is an expectation rather than one noisy draw. A ratio of 1 means
"as close as the statistics of the reference allow"; larger ratios say how many times further
off the generated events are.

**Memorisation.** A generator that copies its training events looks perfect to every
distribution test. For each generated event the distance to its closest training event (DCR)
is compared with the same distance for held-out reference events, which were never trained
on: a ratio of medians well below 1, or exact copies, flag a model that reproduces its
training sample instead of its distribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evmult.decay import Decay
from evmult.events import Events
from evmult.validate.classifier import features
from evmult.validate.metrics import correlation, ks_wasserstein

#: Reference events used at most per half of the noise floor.
MAX_HALF = 500_000
#: Random splits of the reference averaged in the noise floor.
SPLITS = 10
#: Events used at most for the nearest-neighbour search (training side, and queries).
MAX_TRAINING, MAX_QUERIES = 100_000, 20_000
#: Median DCR ratio below which a model is flagged as reproducing its training events.
MEMORISATION_RATIO = 0.5


def noise_floor(generated: Events, reference: Events, decay: Decay, *, seed: int = 1) -> dict[str, Any]:
    """KS and Wasserstein-1 of every variable, and the correlation difference, against the floor.

    Variables: four-momentum components, extras, node masses, Dalitz masses.

    Returns:
        ``n_half``; ``variables``: per variable ``ks``, ``ks_floor``, ``ks_ratio``, ``w1``,
        ``w1_floor``, ``w1_ratio``; ``correlation``: ``max_abs_diff``, ``floor``, ``ratio``;
        ``worst_ks`` and ``worst_w1``: the variable with the largest ratio and its ratio.
    """
    rng = np.random.default_rng(seed)
    half = min(len(reference) // 2, len(generated), MAX_HALF)
    xr, names = features(reference, decay)
    xgen, _ = features(generated, decay)
    sums: dict[str, np.ndarray] = {"ks": 0.0, "ks_floor": 0.0, "w1": 0.0, "w1_floor": 0.0}  # type: ignore[dict-item]
    corr_g, corr_f = 0.0, 0.0
    off = ~np.eye(len(names), dtype=bool)
    for _ in range(SPLITS):
        order = rng.permutation(len(xr))
        xa, xb = xr[order[:half]], xr[order[half : 2 * half]]
        xg = xgen[rng.choice(len(xgen), half, replace=False)]
        pairs = [ks_wasserstein(_finite(xg[:, j]), _finite(xb[:, j])) for j in range(len(names))]
        floors = [ks_wasserstein(_finite(xa[:, j]), _finite(xb[:, j])) for j in range(len(names))]
        sums["ks"] = sums["ks"] + np.array([p[0] for p in pairs]) / SPLITS
        sums["w1"] = sums["w1"] + np.array([p[1] for p in pairs]) / SPLITS
        sums["ks_floor"] = sums["ks_floor"] + np.array([f[0] for f in floors]) / SPLITS
        sums["w1_floor"] = sums["w1_floor"] + np.array([f[1] for f in floors]) / SPLITS
        ca, cb, cg = (correlation(dict(zip(names, x.T, strict=True))) for x in (xa, xb, xg))
        corr_g += float(np.nanmax(np.abs(cg - cb)[off])) / SPLITS
        corr_f += float(np.nanmax(np.abs(ca - cb)[off])) / SPLITS
    per_variable: dict[str, dict[str, float]] = {}
    for j, name in enumerate(names):
        ks_g, ks_f, w_g, w_f = (float(sums[k][j]) for k in ("ks", "ks_floor", "w1", "w1_floor"))
        per_variable[name] = {
            "ks": ks_g, "ks_floor": ks_f, "ks_ratio": _ratio(ks_g, ks_f),
            "w1": w_g, "w1_floor": w_f, "w1_ratio": _ratio(w_g, w_f),
        }  # fmt: skip
    diff_g, diff_f = corr_g, corr_f
    worst_ks = max(per_variable, key=lambda k: per_variable[k]["ks_ratio"])
    worst_w1 = max(per_variable, key=lambda k: per_variable[k]["w1_ratio"])
    return {
        "n_half": half,
        "variables": per_variable,
        "correlation": {"max_abs_diff": diff_g, "floor": diff_f, "ratio": _ratio(diff_g, diff_f)},
        "worst_ks": {"variable": worst_ks, "ratio": per_variable[worst_ks]["ks_ratio"]},
        "worst_w1": {"variable": worst_w1, "ratio": per_variable[worst_w1]["w1_ratio"]},
    }


def memorisation(
    generated: Events, training: Events, holdout: Events, decay: Decay, *, seed: int = 1
) -> dict[str, Any]:
    """Distance to the closest training event, for generated and for held-out events.

    Events are compared on the classifier's variables, each scaled by its inter-quartile
    range in the training sample.

    Returns:
        ``dcr_median_generated``, ``dcr_median_holdout``, their ``ratio``, the
        ``copies_fraction`` of generated events closer than 1e-9 to a training event, and
        ``memorises`` (ratio below 0.5 or more than 1 % copies).
    """
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)

    def subset(events: Events, n: int) -> np.ndarray:
        picked = events.take(np.sort(rng.choice(len(events), min(n, len(events)), replace=False)))
        return features(picked, decay)[0]

    xt = subset(training, MAX_TRAINING)
    n_query = min(MAX_QUERIES, len(generated), len(holdout))
    xg, xh = subset(generated, n_query), subset(holdout, n_query)
    q25, q75 = np.nanpercentile(xt, [25, 75], axis=0)
    scale = np.where(q75 > q25, q75 - q25, 1.0)
    centre = np.nanmedian(xt, axis=0)

    def scaled(x: np.ndarray) -> np.ndarray:
        x = (x - centre) / scale
        return x[np.isfinite(x).all(axis=1)]

    index = NearestNeighbors(n_neighbors=1).fit(scaled(xt))
    dcr_g = index.kneighbors(scaled(xg))[0][:, 0]
    dcr_h = index.kneighbors(scaled(xh))[0][:, 0]
    ratio = _ratio(float(np.median(dcr_g)), float(np.median(dcr_h)))
    copies = float(np.mean(dcr_g < 1e-9))
    return {
        "n_training": len(xt),
        "n_queries": n_query,
        "dcr_median_generated": float(np.median(dcr_g)),
        "dcr_median_holdout": float(np.median(dcr_h)),
        "ratio": ratio,
        "copies_fraction": copies,
        "memorises": bool(ratio < MEMORISATION_RATIO or copies > 0.01),
    }


def _finite(x: np.ndarray) -> np.ndarray:
    return x[np.isfinite(x)]


def _ratio(value: float, floor: float) -> float:
    if floor > 0:
        return float(value / floor)
    return 1.0 if value == 0 else float("inf")
