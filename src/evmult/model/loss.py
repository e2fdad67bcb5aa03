r"""The training objective: the ELBO (Eq. 1 of Sowa et al.) plus an optional physics term (Eq. 2).

.. math::

    L = -\mathbb{E}_{q(z|x)} \log p(x|z)
        + \beta\, D_{KL}(q(z|x) \,\|\, p(z))
        + \lambda \sum_k \big((m_k^{\text{table}} - m_k^{\text{rec}}) / s_k\big)^2

The mass term is supplied by the caller as a function of decoded (standardised) features,
because only the caller knows the representation and the decay; see
:class:`evmult.synthesizer.MassPenalty` for how it is normalised. It is averaged over the
reconstructions of the batch (as in the paper) and over as many events decoded from draws of
the prior: the reconstructions alone can satisfy it while the events the model generates,
decoded from the prior, do not (measured: 61 % negative D_s masses with lambda = 1 on the
reconstructions alone, against 20 % without the term).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import kl_divergence

from evmult.model.vae import VAE

#: Per-event penalty computed from decoded standardised features, shape (B, D) -> (B,).
Penalty = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class LossTerms:
    """The loss and its parts, each averaged over the batch."""

    total: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor
    mass: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        parts = {"loss": self.total, "rec": self.reconstruction, "kl": self.kl, "mass": self.mass}
        return {k: float(v.detach()) for k, v in parts.items()}


def vae_loss(
    vae: VAE, x: torch.Tensor, *, beta: float = 1.0, penalty: Penalty | None = None, weight: float = 0.0
) -> LossTerms:
    """ELBO (+ ``weight`` times the mean ``penalty``) for a batch of standardised features."""
    qz = vae.encoder(x)
    z = qz.rsample()
    px = vae.decoder(z)
    reconstruction = -px.log_prob(x).mean()
    kl = kl_divergence(qz, vae.prior()).mean()
    total = reconstruction + beta * kl
    mass = torch.zeros((), device=x.device)
    if penalty is not None and weight > 0:
        # on the reconstructions (Eq. 2) and on what is generated: decoded draws from the prior
        prior_draws = vae.decoder(vae.prior().rsample((x.shape[0],))).mean
        mass = 0.5 * (penalty(px.mean).mean() + penalty(prior_draws).mean())
        total = total + weight * mass
    return LossTerms(total, reconstruction, kl, mass)


class Objective(nn.Module):
    """:func:`vae_loss` of ``vae`` as a module: ``objective(x, beta)`` gives the loss terms of a batch.

    DistributedDataParallel averages over processes the gradients of what runs through the
    ``forward`` of the module it wraps; :func:`vae_loss` calls the encoder, decoder and prior
    directly, so training in several processes wraps this module rather than the VAE.
    """

    def __init__(self, vae: VAE, *, penalty: Penalty | None = None, weight: float = 0.0):
        super().__init__()
        self.vae = vae
        self.penalty = penalty
        self.weight = weight

    def forward(self, x: torch.Tensor, beta: float) -> LossTerms:
        return vae_loss(self.vae, x, beta=beta, penalty=self.penalty, weight=self.weight)
