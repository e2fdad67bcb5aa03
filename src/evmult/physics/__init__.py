"""Pure kinematics: invariant masses, momenta and angles of four-vectors.

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
