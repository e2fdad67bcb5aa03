"""Classifier two-sample test: can gradient-boosted trees tell generated from reference events?

A classifier is trained on equal numbers of generated and reference events, described by
every four-momentum component, every node's invariant mass and the two Dalitz masses of every
three-body node. Its ROC AUC on a held-back test part says how distinguishable the samples are:
0.5 means not at all, 1.0 perfectly. The same test on two halves of one sample gives the floor
that the finite statistics allow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evmult.decay import Decay
from evmult.events import Events
from evmult.validate.metrics import dalitz_masses, masses, variables

#: Events per class used at most; more changes the AUC little and costs time.
MAX_PER_CLASS = 100_000
#: OpenMP threads for the trees: on a busy 2-core machine more threads wait on each other.
THREADS = 1


def features(events: Events, decay: Decay) -> tuple[np.ndarray, list[str]]:
    """The classifier's inputs: four-momenta, node masses and Dalitz masses, in MeV."""
    columns = dict(variables(events, decay))
    final = set(decay.final_labels)
    columns.update({f"m({k})": v for k, v in masses(events, decay).items() if k not in final})
    for key, pairs in dalitz_masses(events, decay).items():
        columns.update({f"{key}: m({name})": values for name, values in pairs.items()})
    return np.stack(list(columns.values()), axis=1), list(columns)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve, from the rank sum of the positives (Mann-Whitney), ties averaged."""
    from scipy.stats import rankdata

    positive = labels == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classifier_test(
    generated: Events,
    reference: Events,
    decay: Decay,
    *,
    seed: int = 1,
    test_fraction: float = 0.3,
    max_per_class: int = MAX_PER_CLASS,
    bootstrap: int = 200,
    importance: bool = True,
) -> dict[str, Any]:
    """ROC AUC of a gradient-boosted classifier separating ``generated`` from ``reference``.

    Returns:
        ``auc`` on the test part, ``auc_interval`` (the central 68 % of ``bootstrap``
        resamplings of the test part), ``n_per_class``, the ``features`` used and, with
        ``importance``, the drop in test AUC when each feature is shuffled, largest first.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    n = min(len(generated), len(reference), max_per_class)
    gen_x, names = features(generated.take(np.sort(rng.choice(len(generated), n, replace=False))), decay)
    ref_x, _ = features(reference.take(np.sort(rng.choice(len(reference), n, replace=False))), decay)
    x = np.concatenate([gen_x, ref_x])
    y = np.concatenate([np.ones(n), np.zeros(n)])
    finite = np.isfinite(x).all(axis=1)
    x, y = x[finite], y[finite]
    order = rng.permutation(len(x))
    cut = int(len(x) * (1 - test_fraction))
    train, test = order[:cut], order[cut:]
    clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, early_stopping=True, random_state=seed)
    with threadpool_limits(THREADS):
        clf.fit(x[train], y[train])
        score = clf.predict_proba(x[test])[:, 1]
        ranked: dict[str, float] = {}
        if importance:
            base = roc_auc(y[test], score)
            drops = {}
            for j, name in enumerate(names):
                shuffled = x[test].copy()
                shuffled[:, j] = rng.permutation(shuffled[:, j])
                drops[name] = base - roc_auc(y[test], clf.predict_proba(shuffled)[:, 1])
            ranked = dict(sorted(drops.items(), key=lambda kv: -kv[1]))
    auc = roc_auc(y[test], score)
    resampled = []
    for _ in range(bootstrap):
        pick = rng.integers(0, len(test), len(test))
        value = roc_auc(y[test][pick], score[pick])
        if np.isfinite(value):
            resampled.append(value)
    interval = [float(np.percentile(resampled, 16)), float(np.percentile(resampled, 84))] if resampled else [auc, auc]
    return {
        "auc": auc,
        "auc_interval": interval,
        "n_per_class": n,
        "features": names,
        "importance": ranked,
    }
