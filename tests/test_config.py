import pytest

from evmult import config
from evmult.errors import ConfigError
from evmult.model import TrainConfig
from evmult.synthesizer import ModelConfig


def test_full_file_is_read(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(
        """
[input]
files = ["a.root"]
decay = "D_s+ -> K+ K- pi+"
branches = ["Kplus_{}", "Kminus_{}", "piplus_{}"]
components = ["PX", "PY", "PZ", "PE"]
units = "MeV"

[model]
representation = "squared"
latent-dim = 6
hidden = [64, 64]
mass-term = 0.5

[training]
epochs = 3
learning-rate = 0.002
seed = 7

[multiply]
factor = 4
"""
    )
    cfg = config.load(path)
    model = config.build(ModelConfig, cfg["model"])
    assert model == ModelConfig(representation="squared", latent_dim=6, hidden=(64, 64), mass_term=0.5)
    # the command line (second layer) wins over the file; None means "not given"
    training = config.build(TrainConfig, cfg["training"], {"epochs": 9, "seed": None})
    assert training.epochs == 9 and training.seed == 7 and training.learning_rate == 0.002
    assert cfg["multiply"]["factor"] == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[model]\nlatent-dimension = 3\n", "unknown key 'latent-dimension' in \\[model\\]"),
        ("[model]\nlatent_dim = 3\n", "did you mean 'latent-dim'"),
        ("[modle]\n", "unknown section \\[modle\\]"),
        ("[training]\nepochs = 'many'\n", "'epochs' in \\[training\\] .* must be int, not str"),
        ("[training]\nepochs = true\n", "must not be true/false"),
        ("[input\n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        config.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "nope.toml")
