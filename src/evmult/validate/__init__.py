"""Judge a generated sample against a reference sample of the same decay.

This layer takes :class:`~evmult.events.Events` and a :class:`~evmult.decay.Decay` only; it
knows nothing of the model, so it judges any generator the same way.

- :mod:`evmult.validate.metrics`: the numbers, as JSON-ready plain values: per four-momentum
  component the Kolmogorov-Smirnov statistic and Wasserstein-1 distance, the correlation
  matrices, and the reconstructed (signed) masses of the mother, the intermediates and the
  final-state particles (median, width from the inter-quartile range, negative fraction).
- :mod:`evmult.validate.plots`: the figures of the paper (Sowa et al.), made lazily with
  matplotlib, mplhep and hist: four-momenta (Fig. 2), correlations (Fig. 3), the mother's
  mass (Fig. 4) and the final-state masses (Fig. 5).
- :mod:`evmult.validate.report`: one folder, written atomically, with ``metrics.json``, the
  PNGs and a self-contained ``report.html``.

>>> from evmult.validate import compare, write_report  # doctest: +SKIP
>>> metrics = compare(generated, reference, decay)  # doctest: +SKIP
>>> write_report("report", generated, reference, decay, metrics=metrics)  # doctest: +SKIP
"""

from evmult.validate.metrics import compare, mass_summary, variables, write_metrics
from evmult.validate.report import write_report

__all__ = ["compare", "mass_summary", "variables", "write_metrics", "write_report"]
