"""Pure kinematics: invariant masses, momenta and angles of four-vectors.

- :mod:`evmult.physics.kinematics`: masses (signed, as in the paper), momenta, angles.
- :mod:`evmult.physics.lorentz`: boosts, rest frames, helicity axes, two-body momenta.
- :mod:`evmult.physics.dalitz`: the square Dalitz plot of three-body decays.

Nothing here knows files, models or decays; every function is vectorised and works on
numpy arrays and torch tensors alike.
"""

from evmult.physics.kinematics import (
    azimuth,
    combine,
    energy_from_mass,
    mass_squared,
    momentum,
    pseudorapidity,
    signed_mass,
    transverse_momentum,
)

__all__ = [
    "azimuth",
    "combine",
    "energy_from_mass",
    "mass_squared",
    "momentum",
    "pseudorapidity",
    "signed_mass",
    "transverse_momentum",
]
