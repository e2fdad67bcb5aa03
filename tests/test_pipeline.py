"""multiply on real CMS data: the generated dimuon mass must peak at the Z mass."""

import numpy as np
import pytest
import uproot

from evmult.decay import parse
from evmult.io import InputSpec
from evmult.model import TrainConfig
from evmult.pipeline import multiply
from evmult.synthesizer import ModelConfig
from tests.conftest import real_file

Z_MASS = 91.1876  # GeV


@pytest.mark.slow
def test_multiply_cms_dimuons_peaks_at_the_z(tmp_path):
    path = real_file("cms_dimuon_zmumu.root", tmp_path)
    out = tmp_path / "z_x3.root"
    summary = multiply(
        InputSpec((str(path),), parse("Z0 -> mu+ mu-")),
        output=out,
        factor=3,
        model=ModelConfig(hidden=(64, 64), mass_term=0.1),
        training=TrainConfig(epochs=25),
        progress=False,
    )
    assert summary.n_generated == 3 * 2304
    tree = uproot.open(out)["events"]
    assert set(tree.keys()) >= {"px1", "E2", "M", "pt1", "eta2"}
    mass = tree["M"].array(library="np")  # GeV, recomputed from the generated momenta
    counts, edges = np.histogram(mass, bins=np.arange(60.0, 120.0, 1.0))
    peak = 0.5 * (edges[np.argmax(counts)] + edges[np.argmax(counts) + 1])
    assert abs(peak - Z_MASS) < 2.0  # the input's own peak is within 1 GeV of the Z mass
    assert abs(np.median(mass) - Z_MASS) < 2.0
