r"""How many simulated events are the generated events worth: the amplification factor.

Following Butter, Diefenbacher, Kasieczka, Nachman, Plehn, *GANplifying event samples*,
SciPost Phys. 10, 139 (2021). Each observable is cut into :math:`N_q` bins of equal
probability under a large truth sample. A sample of size :math:`n` fills bin :math:`i` with a
fraction :math:`f_i`; its quantile MSE is

.. math:: \text{MSE}(n) = \frac{1}{N_q}\sum_i \Big(f_i - \frac{1}{N_q}\Big)^2,

averaged over the observables. For truth samples it falls as :math:`1/n` (multinomial noise,
:math:`\frac{1}{N_q}(1 - \frac{1}{N_q})/n`); for generated samples it falls until the model's own
error dominates. The equivalent number of truth events of a generated sample,
:math:`n_\text{equiv}`, is the truth size with the same MSE, and the amplification factor is
:math:`G = n_\text{equiv} / n_\text{train}`. :math:`G > 1` means the generated events carry more
statistical power than the training sample they came from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evmult.decay import Decay
from evmult.events import Events
from evmult.validate.classifier import features


def quantile_edges(truth: np.ndarray, n_quantiles: int) -> np.ndarray:
    """Inner bin edges (n_quantiles - 1, D) of equal-probability bins of every column of ``truth``."""
    return np.nanquantile(truth, np.linspace(0, 1, n_quantiles + 1)[1:-1], axis=0)


def quantile_mses(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Quantile MSE of a sample ``x`` (n, D) in each of its D observables."""
    n_q = len(edges) + 1
    out = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        counts = np.bincount(np.searchsorted(edges[:, j], x[:, j]), minlength=n_q)
        out[j] = np.mean((counts / len(x) - 1.0 / n_q) ** 2)
    return out


def amplification(
    generated: Events,
    truth: Events,
    decay: Decay,
    *,
    n_train: int,
    n_quantiles: int = 20,
    repeats: int = 5,
    seed: int = 1,
) -> dict[str, Any]:
    """Quantile-MSE curves of truth and generated samples, and the amplification factor.

    Half of ``truth`` defines the bins; the other half gives the truth curve at growing sizes.
    Generated subsets of growing size (up to all of ``generated``) are compared with it.

    Returns:
        ``truth_curve`` and ``generated_curve`` (lists of ``[n, mse]``), and ``amplification``:
        per generated size ``[n_gen, n_equiv, G]``; ``per_observable``: ``n_equiv`` and ``G`` of
        each observable alone at the largest generated size, worst first; ``observables`` used;
        ``n_train``.
    """
    rng = np.random.default_rng(seed)
    xt, names = features(truth, decay)
    xg, _ = features(generated, decay)
    xt, xg = xt[np.isfinite(xt).all(axis=1)], xg[np.isfinite(xg).all(axis=1)]
    order = rng.permutation(len(xt))
    defining, curve_pool = xt[order[: len(xt) // 2]], xt[order[len(xt) // 2 :]]
    edges = quantile_edges(defining, n_quantiles)

    def curve(pool: np.ndarray, sizes: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Per-observable quantile MSE (averaged over ``repeats`` subsets) at each size."""
        out = []
        for n in sizes:
            values = [quantile_mses(pool[rng.choice(len(pool), int(n), replace=False)], edges) for _ in range(repeats)]
            out.append((int(n), np.mean(values, axis=0)))
        return out

    truth_sizes = np.unique(np.geomspace(min(1000, len(curve_pool)), len(curve_pool), 8).astype(int))
    gen_sizes = np.unique(np.geomspace(min(1000, len(xg)), len(xg), 8).astype(int))
    truth_mses, gen_mses = curve(curve_pool, truth_sizes), curve(xg, gen_sizes)
    truth_curve = [[float(n), float(m.mean())] for n, m in truth_mses]
    gen_curve = [[float(n), float(m.mean())] for n, m in gen_mses]
    # the truth curve follows c / n; fit c on its points and read n_equiv = c / MSE
    c = float(np.exp(np.mean([np.log(n * m) for n, m in truth_curve])))
    amp = [[n, c / m, c / m / n_train] for n, m in gen_curve]
    # the same per observable, at the largest generated size: where the model loses its worth
    c_j = np.exp(np.mean([np.log(n * m) for n, m in truth_mses], axis=0))
    last = gen_mses[-1][1]
    per_observable: list[dict[str, Any]] = [
        {"observable": names[j], "n_equiv": float(c_j[j] / last[j]), "G": float(c_j[j] / last[j] / n_train)}
        for j in np.argsort(c_j / last)
    ]
    return {
        "observables": names,
        "n_quantiles": n_quantiles,
        "n_train": n_train,
        "truth_constant": c,
        "truth_curve": truth_curve,
        "generated_curve": gen_curve,
        "amplification": amp,
        "per_observable": per_observable,
    }


def plot_amplification(result: dict[str, Any]) -> Any:
    """Quantile MSE against sample size (truth, generated) and G against generated size."""
    from evmult.validate.plots import GENERATED, REFERENCE, _figure, _style

    truth, gen, amp = (np.array(result[k]) for k in ("truth_curve", "generated_curve", "amplification"))
    with _style():
        fig = _figure(15.0, 5.8)
        left, right = fig.subplots(1, 2)
        n = np.geomspace(truth[0, 0], max(truth[-1, 0], gen[-1, 0]), 50)
        left.plot(n, result["truth_constant"] / n, color=REFERENCE, linestyle="--", label="truth, c / n")
        left.plot(truth[:, 0], truth[:, 1], "o", color=REFERENCE, label="truth subsets")
        left.plot(gen[:, 0], gen[:, 1], "s-", color=GENERATED, label="generated subsets")
        left.axvline(result["n_train"], color="grey", linestyle=":", label="training size")
        left.set(xscale="log", yscale="log", xlabel="events", ylabel="quantile MSE")
        left.legend()
        right.plot(amp[:, 0], amp[:, 2], "s-", color=GENERATED)
        right.axhline(1.0, color="grey", linestyle=":")
        right.set(xscale="log", xlabel="generated events", ylabel="$G = n_{equiv} / n_{train}$")
        fig.suptitle(f"Amplification ({result['n_quantiles']} quantiles, {len(result['observables'])} observables)")
    return fig
