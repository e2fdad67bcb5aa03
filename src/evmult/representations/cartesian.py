"""The paper's representations: four-momentum coordinates, plain or squared."""

from __future__ import annotations

from typing import Any

import numpy as np

from evmult.events import Events
from evmult.physics.kinematics import namespace
from evmult.representations.base import Representation

COMPONENTS = ("E", "PX", "PY", "PZ")


class Cartesian(Representation):
    """Features are ``(E, px, py, pz)`` of every final-state particle, in MeV (Sowa et al.)."""

    name = "cartesian"

    @property
    def feature_names(self) -> list[str]:
        return [f"{lab}_{c}" for lab in self.decay.final_labels for c in COMPONENTS]

    def forward(self, events: Events) -> np.ndarray:
        return events.p4.reshape(len(events), -1).astype(np.float64)

    def inverse(self, features: Any) -> Any:
        return features.reshape(features.shape[0], -1, 4)


class Squared(Representation):
    r"""Squared coordinates plus the momentum signs: :math:`(E^2, p_x^2, p_y^2, p_z^2, s_x, s_y, s_z)`.

    This is the input with which Sowa et al. reproduced the pion mass: the mass squared
    :math:`m^2 = E^2 - p_x^2 - p_y^2 - p_z^2` is a *linear* function of the squared features,
    which the decoder's last (linear) layer can keep exact. The signs
    :math:`s_i = \operatorname{sgn} p_i` are kept as extra features so that events can be
    rebuilt: :math:`p_i = s_i \sqrt{\max(p_i^2, 0)}` with :math:`s_i` rounded to :math:`\pm 1`.
    """

    name = "squared"

    @property
    def feature_names(self) -> list[str]:
        return [
            f"{lab}_{c}" for lab in self.decay.final_labels for c in ("E2", "PX2", "PY2", "PZ2", "sPX", "sPY", "sPZ")
        ]

    def forward(self, events: Events) -> np.ndarray:
        p4 = events.p4.astype(np.float64)
        signs = np.where(p4[..., 1:] >= 0, 1.0, -1.0)
        return np.concatenate([p4**2, signs], axis=-1).reshape(len(events), -1)

    def inverse(self, features: Any) -> Any:
        xp = namespace(features)
        f = features.reshape(features.shape[0], -1, 7)
        magnitude = xp.sqrt(xp.clip(f[..., :4], 0, None))
        signs = xp.where(f[..., 4:] >= 0, 1.0, -1.0)
        if xp is not np:
            signs = signs.to(f.dtype)
        return (
            xp.concatenate([magnitude[..., :1], magnitude[..., 1:] * signs], -1)
            if xp is np
            else xp.cat([magnitude[..., :1], magnitude[..., 1:] * signs], -1)
        )
