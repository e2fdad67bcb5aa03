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
MAX_PER_CLASS = 200_000


def features(events: Events, decay: Decay) -> tuple[np.ndarray, list[str]]:
    """The classifier's inputs: four-momenta, node masses and Dalitz masses, in MeV."""
    columns = dict(variables(events, decay))
    final = set(decay.final_labels)
    columns.update({f"m({k})": v for k, v in masses(events, decay).items() if k not in final})
    for key, pairs in dalitz_masses(events, decay).items():
        columns.update({f"{key}: m({name})": values for name, values in pairs.items()})
    return np.stack(list(columns.values()), axis=1), list(columns)


def classifier_test(
    generated: Events,
    reference: Events,
    decay: Decay,
    *,
    seed: int = 1,
    test_fraction: float = 0.3,
    max_per_class: int = MAX_PER_CLASS,
    bootstrap: int = 200,
) -> dict[str, Any]:
    """ROC AUC of a gradient-boosted classifier separating ``generated`` from ``reference``.

    Returns:
        ``auc`` on the test part, ``auc_interval`` (the central 68 % of ``bootstrap``
        resamplings of the test part), ``n_per_class``, the ``features`` used and their
        ``importance`` (drop in test AUC when the feature is shuffled), largest first.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

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
    clf.fit(x[train], y[train])
    score = clf.predict_proba(x[test])[:, 1]
    auc = float(roc_auc_score(y[test], score))
    resampled = []
    for _ in range(bootstrap):
        pick = rng.integers(0, len(test), len(test))
        if 0 < y[test][pick].sum() < len(pick):
            resampled.append(roc_auc_score(y[test][pick], score[pick]))
    importance = {}
    for j, name in enumerate(names):
        shuffled = x[test].copy()
        shuffled[:, j] = rng.permutation(shuffled[:, j])
        importance[name] = auc - float(roc_auc_score(y[test], clf.predict_proba(shuffled)[:, 1]))
    ranked = dict(sorted(importance.items(), key=lambda kv: -kv[1]))
    return {
        "auc": auc,
        "auc_interval": [float(np.percentile(resampled, 16)), float(np.percentile(resampled, 84))],
        "n_per_class": n,
        "features": names,
        "importance": ranked,
    }
