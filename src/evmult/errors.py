"""Exceptions for mistakes a user can make; the CLI prints each as one line.

Every message names what is wrong (the file, tree, branch, particle or key) so that the
one line is enough to fix it. Programming errors stay ordinary exceptions with tracebacks.
"""

from __future__ import annotations


class EvmultError(Exception):
    """A problem with the user's input, configuration or request, explained in one line."""


class InputFileError(EvmultError):
    """A ROOT or parquet file, tree or branch that cannot be used."""


class DecayError(EvmultError):
    """A decay descriptor that cannot be parsed or is not physical."""


class ConfigError(EvmultError):
    """A configuration file or option with an unknown key or a bad value."""


class ModelFileError(EvmultError):
    """A model file that is not an evmult model, is damaged, or does not fit the request."""


class OutputError(EvmultError):
    """An output path that exists (without ``--overwrite``) or cannot be written."""


class TrainingError(EvmultError):
    """A training request that cannot succeed, for example too few events."""
