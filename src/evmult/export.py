"""A trained model as one ONNX graph, so that C++ frameworks generate events without Python.

The graph is the generation path of :meth:`Synthesizer.sample_chunks` after the random draws::

    z      (batch, latent_dim)   float32, standard normal
    noise  (batch, n_features)   float32, standard normal; only for models with decoder noise
      -> decoder: mean of p(x | z), plus its width times noise       (float32, as trained)
      -> marginal calibration -> scaler inverse -> representation inverse   (float64 from here on)
    p4     (batch, n_final, 4)   float64, (E, px, py, pz) per final-state particle in MeV
    extras (batch, n_extras)     float64, the extra variables; only for models with extras

The names, order, units and shapes are written into the model's ``metadata_props`` as well.

ONNX has no ``searchsorted`` and onnxruntime evaluates ``Erf``, ``Atan`` and ``Sinh`` in float32
only, so three functions are rebuilt here from operations it runs in float64: the normal CDF and
the arctangent from the rational approximations of Cephes (those of ``scipy.special``), sinh from
exponentials; the quantile inverse indexes its equally spaced probabilities directly, as the numpy
path of :class:`~evmult.representations.QuantileScaler` does (and the calibration its equally
spaced grid). They agree with torch and scipy to
about one unit in the last place.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from evmult import __version__
from evmult.errors import ConfigError, EvmultError
from evmult.io.atomic import atomic_path
from evmult.representations import QuantileScaler
from evmult.representations.base import grid_lookup
from evmult.synthesizer import Synthesizer

#: The ONNX operator set of exported models: onnxruntime 1.18 and later run it.
OPSET = 17

# Cephes ndtr.c: erfc(x) = exp(-x^2) P(x)/Q(x) for 1 <= x < 8, R(x)/S(x) beyond; erf(x) = x T(x^2)/U(x^2) below 1
_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0, 4.86371970985681366614e1,
      1.96520832956077098242e2, 5.26445194995477358631e2, 9.34528527171957607540e2, 1.02755188689515710272e3,
      5.57535335369399327526e2)  # fmt: skip
_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
      9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3, 1.65666309194161350182e3,
      5.57535340817727675546e2)  # fmt: skip
_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0, 6.16021097993053585195e0,
      7.40974269950448939160e0, 2.97886665372100240670e0)  # fmt: skip
_S = (1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
      1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)  # fmt: skip
_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3, 7.00332514112805075473e3,
      5.55923013010394962768e4)  # fmt: skip
_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
      2.26290000613890934246e4, 4.92673942608635921086e4)  # fmt: skip
# Cephes atan.c: atan(x) = x + x^3 P(x^2)/Q(x^2) on [0, 0.66], after reduction by pi/4 or pi/2
_ATAN_P = (-8.750608600031904122785e-1, -1.615753718733365076637e1, -7.500855792314704667340e1,
           -1.228866684490136173410e2, -6.485021904942025371773e1)  # fmt: skip
_ATAN_Q = (1.0, 2.485846490142306297962e1, 1.650270098316988542046e2, 4.328810604912902668951e2,
           4.853903996359136964868e2, 1.945506571482613964425e2)  # fmt: skip
_TAN_3PI_8 = 2.41421356237309504880
_MOREBITS = 6.123233995736765886130e-17  # pi/2 - float(pi/2)


def _polynomial(x: torch.Tensor, coefficients: tuple[float, ...]) -> torch.Tensor:
    """Horner's rule, highest power first."""
    y = torch.zeros_like(x) + coefficients[0]
    for c in coefficients[1:]:
        y = y * x + c
    return y


def ndtr(a: torch.Tensor) -> torch.Tensor:
    r"""Standard normal CDF :math:`\Phi(a) = \tfrac12 \operatorname{erfc}(-a/\sqrt2)`, as ``scipy.special.ndtr``."""
    x = a * math.sqrt(0.5)
    z = x.abs()
    inner = 0.5 + 0.5 * x * _polynomial(x * x, _T) / _polynomial(x * x, _U)
    zc = z.clamp(min=1.0)  # the tail formula on every element; torch.where keeps it where |x| >= 1
    ratio = torch.where(zc < 8.0, _polynomial(zc, _P) / _polynomial(zc, _Q), _polynomial(zc, _R) / _polynomial(zc, _S))
    tail = 0.5 * torch.exp(-zc * zc) * ratio
    return torch.where(z < 1.0, inner, torch.where(x > 0, 1.0 - tail, tail))


def arctan(x: torch.Tensor) -> torch.Tensor:
    r""":math:`\arctan x`, Cephes' rational approximation (relative error below :math:`10^{-16}`)."""
    a = x.abs()
    big, mid = a > _TAN_3PI_8, (a > 0.66) & (a <= _TAN_3PI_8)
    zero = torch.zeros_like(a)  # torch.where on two Python floats would give float32
    r = torch.where(big, -1.0 / a.clamp(min=1e-300), torch.where(mid, (a - 1.0) / (a + 1.0), a))
    offset = torch.where(big, zero + math.pi / 2, torch.where(mid, zero + math.pi / 4, zero))
    extra = torch.where(big, zero + _MOREBITS, torch.where(mid, zero + 0.5 * _MOREBITS, zero))
    r2 = r * r
    result = offset + (r * r2 * _polynomial(r2, _ATAN_P) / _polynomial(r2, _ATAN_Q) + r + extra)
    return torch.where(x < 0, -result, result)


def arctan2(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r""":math:`\operatorname{atan2}(y, x)` in :math:`[-\pi, \pi]`; 0 at the origin."""
    zero = torch.zeros_like(y)
    angle = arctan(y / torch.where((x == 0) & (y == 0), zero + 1.0, x))
    return torch.where(x < 0, angle + torch.where(y < 0, zero - math.pi, zero + math.pi), angle)


class Portable(TorchFunctionMode):
    """Inside this mode ``torch.arctan2`` and ``torch.sinh`` become the float64-exportable versions above."""

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if func in (torch.arctan2, torch.atan2):
            return arctan2(*args)
        if func is torch.sinh:
            (x,) = args
            return 0.5 * (torch.exp(x) - torch.exp(-x))
        return func(*args, **(kwargs or {}))


class QuantileInverse(nn.Module):
    """:meth:`QuantileScaler.inverse` in exportable operations: the same formula as its numpy path."""

    def __init__(self, scaler: QuantileScaler):
        super().__init__()
        assert scaler.quantiles is not None, "QuantileScaler used before fit"
        p = scaler.probabilities
        self.first, self.last, self.knots = float(p[0]), float(p[-1]), scaler.knots
        self.register_buffer("quantiles", torch.as_tensor(scaler.quantiles, dtype=torch.float64))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        position = (ndtr(z).clamp(self.first, self.last) - self.first) * ((self.knots - 1) / (self.last - self.first))
        return grid_lookup(self.quantiles, position)  # type: ignore[no-any-return]


class Generator(nn.Module):
    """Decoder, scaler inverse, representation inverse and extras inverse of ``synth``, as one module.

    ``Generator(synth)(z, noise)`` returns ``p4`` (and ``extras`` where the model has them) exactly
    as the exported graph computes them, in PyTorch.
    """

    def __init__(self, synth: Synthesizer):
        super().__init__()
        if synth.vae is None:
            raise EvmultError("the synthesizer has not been fitted or loaded")
        self.vae = synth.vae.to("cpu").eval()
        self.synth = synth
        self.n_kinematic = len(synth.representation.feature_names)
        self.quantile = QuantileInverse(synth.scaler) if isinstance(synth.scaler, QuantileScaler) else None

    def forward(self, z: torch.Tensor, noise: torch.Tensor | None = None) -> Any:
        x = self.vae.generate(z, noise=noise).double()
        if self.synth.calibration is not None:
            x = self.synth.calibration.apply(x)
        with Portable():
            features = self.quantile(x) if self.quantile is not None else self.synth.scaler.inverse(x)
            p4 = self.synth.representation.inverse(features[:, : self.n_kinematic])
            extras = self.synth.extras
            if not extras.names:
                return p4
            values = extras.inverse(features[:, self.n_kinematic :])
            return p4, torch.stack([values[name] for name in extras.names], 1)


def metadata(synth: Synthesizer) -> dict[str, str]:
    """What a user of the ONNX file needs to know, as the strings of its ``metadata_props``."""
    assert synth.vae is not None
    noisy, names = synth.model_config.decoder_noise, list(synth.extras.names)
    particles = [p.name for p in synth.decay.final_state]
    inputs = f"z: float32 (batch, {synth.vae.latent_dim}), standard normal"
    if noisy:
        inputs += f"; noise: float32 (batch, {synth.vae.n_features}), standard normal"
    outputs = f"p4: float64 (batch, {len(particles)}, 4), (E, px, py, pz) of each particle in MeV"
    if names:
        outputs += f"; extras: float64 (batch, {len(names)}), columns as in 'extras'"
    dtypes = synth.schema.dtypes if synth.schema else {}
    return {
        "evmult_version": __version__,
        "decay": synth.decay.descriptor,
        "particles": json.dumps(particles),
        "particle_labels": json.dumps(list(synth.decay.final_labels)),
        "inputs": inputs,
        "outputs": outputs,
        "p4_components": "E,px,py,pz",
        "units": "MeV",
        "latent_dim": str(synth.vae.latent_dim),
        "n_features": str(synth.vae.n_features),
        "decoder_noise": json.dumps(noisy),
        "extras": json.dumps(names),
        "extras_dtypes": json.dumps({name: dtypes[name] for name in names if name in dtypes}),
        "representation": synth.representation.name,
        "scaling": synth.scaler.kind,
        "calibration": json.dumps(synth.calibration is not None),
        "schema": json.dumps(synth.schema.to_dict() if synth.schema else None),
    }


def export_onnx(
    synth: Synthesizer, path: str | os.PathLike[str], *, overwrite: bool = False, opset: int = OPSET
) -> Path:
    """Write ``synth`` as an ONNX model at ``path`` (atomically); returns the path.

    >>> export_onnx(Synthesizer.load("ds.model"), "ds.onnx")      # doctest: +SKIP

    Raises:
        ConfigError: the ``onnx`` package is missing (``pip install 'evmult[onnx]'``).
        OutputError: ``path`` exists and ``overwrite`` is false, or it cannot be written.
    """
    try:
        import onnx
    except ImportError as exc:
        raise ConfigError("ONNX export needs onnx and onnxruntime: pip install 'evmult[onnx]'") from exc
    module = Generator(synth)
    assert synth.vae is not None
    args: tuple[torch.Tensor, ...] = (torch.zeros(2, synth.vae.latent_dim),)
    inputs = ["z"]
    if synth.model_config.decoder_noise:
        args += (torch.zeros(2, synth.vae.n_features),)
        inputs.append("noise")
    outputs = ["p4", "extras"] if synth.extras.names else ["p4"]
    target = Path(path)
    with atomic_path(target, overwrite=overwrite) as tmp, warnings.catch_warnings():
        # the TorchScript exporter, deprecated but still in torch 2.13: torch.export's took ten times
        # longer here (half a minute for a small model) and needs onnxscript
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            module, args, str(tmp), dynamo=False, opset_version=opset, input_names=inputs, output_names=outputs,
            dynamic_axes={name: {0: "batch"} for name in inputs + outputs},
        )  # fmt: skip
        model = onnx.load(str(tmp))
        model.doc_string = (
            f"evmult {__version__} generator for {synth.decay.descriptor}: standard-normal inputs in, "
            "four-momenta (E, px, py, pz) in MeV out; see metadata_props"
        )
        onnx.helper.set_model_props(model, metadata(synth))
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))
    return target


__all__ = ["OPSET", "Generator", "Portable", "QuantileInverse", "arctan", "arctan2", "export_onnx", "metadata", "ndtr"]
