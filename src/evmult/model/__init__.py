"""The generative model: a VAE on standardised feature tensors, its loss and its trainer.

- :mod:`evmult.model.vae`: encoder, decoder and prior as modules returning distributions.
- :mod:`evmult.model.loss`: ELBO (Eq. 1) plus the optional mass term (Eq. 2).
- :mod:`evmult.model.train`: mini-batch training with validation split and early stopping.

Nothing here knows ROOT files, branch names or decays.
"""

from evmult.model.loss import LossTerms, Penalty, vae_loss
from evmult.model.train import TrainConfig, TrainResult, train
from evmult.model.vae import VAE

__all__ = ["VAE", "LossTerms", "Penalty", "TrainConfig", "TrainResult", "train", "vae_loss"]
