"""The variational auto-encoder of Sowa et al.: MLP encoder and decoder, Gaussian latent.

Each part is a small module that returns a ``torch.distributions`` object, so sampling,
log-probabilities and the ELBO can be tested one by one:

- :class:`Encoder`: ``q(z | x) = N(mu(x), sigma(x)^2)``
- :class:`Decoder`: ``p(x | z) = N(mu(z), sigma^2)`` with one learned width per feature
- :meth:`VAE.prior`: ``p(z) = N(0, 1)``

The model sees only standardised feature tensors; it knows nothing of physics or files.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Independent, Normal

#: Arithmetic of the decoder's hidden layers when generating: ``bfloat16`` is faster where the
#: hardware has it, and changes the events by far less than their statistical spread.
PRECISIONS = ("float32", "bfloat16")


def mlp(n_in: int, hidden: Sequence[int], n_out: int) -> nn.Sequential:
    """Fully connected layers with SiLU activations between them."""
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.SiLU()]
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """``x -> q(z | x)``, a diagonal Gaussian."""

    def __init__(self, n_features: int, latent_dim: int, hidden: Sequence[int]):
        super().__init__()
        self.net = mlp(n_features, hidden, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> Independent:
        mu, log_sigma = self.net(x).chunk(2, dim=-1)
        return Independent(Normal(mu, log_sigma.clamp(-12.0, 6.0).exp()), 1)


class Decoder(nn.Module):
    """``z -> p(x | z)``, a diagonal Gaussian with a learned width per feature."""

    def __init__(self, latent_dim: int, n_features: int, hidden: Sequence[int]):
        super().__init__()
        self.net = mlp(latent_dim, hidden, n_features)
        self.log_sigma = nn.Parameter(torch.zeros(n_features))

    def forward(self, z: torch.Tensor) -> Independent:
        return Independent(Normal(self.net(z), self.sigma().expand(z.shape[0], -1)), 1)

    def sigma(self) -> torch.Tensor:
        """The learned width of each feature, kept within a safe range."""
        return self.log_sigma.clamp(-12.0, 6.0).exp()

    def mean(self, z: torch.Tensor, *, precision: str = "float32") -> torch.Tensor:
        """``mu(z)``; with ``precision="bfloat16"`` the hidden layers compute in bfloat16.

        That is about three times faster on CPUs with bfloat16 instructions (AVX512-BF16, AMX)
        and on GPUs. The output layer stays float32, so that the means are sums of many rounded
        terms rather than numbers on bfloat16's coarse grid (steps of 1/64 between 2 and 4).
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        if precision == "float32":
            return self.net(z)
        with torch.autocast(z.device.type, dtype=torch.bfloat16):
            hidden = self.net[:-1](z)
        return self.net[-1](hidden.float())


class VAE(nn.Module):
    """Encoder, decoder and a standard-normal prior."""

    def __init__(self, n_features: int, *, latent_dim: int = 8, hidden: Sequence[int] = (256, 256)):
        super().__init__()
        self.n_features = n_features
        self.latent_dim = latent_dim
        self.hidden = tuple(hidden)
        self.encoder = Encoder(n_features, latent_dim, self.hidden)
        self.decoder = Decoder(latent_dim, n_features, self.hidden)
        self.register_buffer("_zero", torch.zeros(latent_dim), persistent=False)

    def prior(self) -> Independent:
        zero: torch.Tensor = self._zero  # type: ignore[assignment]
        return Independent(Normal(zero, torch.ones_like(zero)), 1)

    @torch.no_grad()
    def generate(
        self, z: torch.Tensor, *, noise: torch.Tensor | None = None, precision: str = "float32"
    ) -> torch.Tensor:
        """Decode latent points ``z``: the mean of ``p(x | z)``, plus its width times ``noise`` if given.

        With ``noise`` a standard-normal tensor of the output's shape, the result is a draw
        from ``p(x | z)``; passing the noise in keeps generation reproducible. ``precision``
        is that of the hidden layers (see :meth:`Decoder.mean`).
        """
        mean = self.decoder.mean(z, precision=precision)
        if noise is None:
            return mean
        return mean + self.decoder.sigma() * noise
