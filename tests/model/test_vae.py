import numpy as np
import pytest
import torch
from torch.distributions import Independent

from evmult.errors import TrainingError
from evmult.model import VAE, TrainConfig, train, vae_loss


def test_parts_return_distributions_of_the_right_shape():
    vae = VAE(12, latent_dim=4, hidden=(32,))
    x = torch.randn(7, 12)
    qz = vae.encoder(x)
    assert isinstance(qz, Independent) and qz.rsample().shape == (7, 4)
    px = vae.decoder(qz.rsample())
    assert px.mean.shape == (7, 12) and px.log_prob(x).shape == (7,)
    assert vae.prior().sample((5,)).shape == (5, 4)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    vae = VAE(6, latent_dim=3, hidden=(16, 16))
    penalty = lambda x: (x**2).sum(-1)  # noqa: E731
    vae_loss(vae, torch.randn(32, 6), penalty=penalty, weight=0.5).total.backward()
    for name, p in vae.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_training_lowers_the_loss_and_keeps_the_best_epoch():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(2000, 2))
    x = np.concatenate([latent, latent @ rng.normal(size=(2, 3))], 1).astype(np.float32)
    vae = VAE(5, latent_dim=2, hidden=(32,))
    result = train(
        vae, x, config=TrainConfig(epochs=15, batch_size=64, learning_rate=3e-3, patience=15), progress=False
    )
    losses = [h["val_loss"] for h in result.history]
    assert min(losses) < losses[0] - 1.0
    assert result.best_epoch == 1 + int(np.argmin(losses))


def test_device_auto_falls_back_to_the_cpu_and_bad_names_are_refused(monkeypatch):
    import pytest

    from evmult.errors import TrainingError
    from evmult.model.train import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(TrainingError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(TrainingError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")


def test_a_run_that_ends_within_the_kl_warmup_keeps_its_trained_weights():
    torch.manual_seed(0)
    x = np.random.default_rng(1).normal(size=(1000, 4)).astype(np.float32)
    vae = VAE(4, latent_dim=2, hidden=(16,))
    initial = [p.detach().clone() for p in vae.parameters()]
    result = train(vae, x, config=TrainConfig(epochs=3, kl_warmup=10, batch_size=64), progress=False)
    assert result.best_epoch == 3  # the latest epoch, not the untrained network
    assert any(not torch.equal(a, b) for a, b in zip(initial, vae.parameters(), strict=True))


def test_a_diverging_run_is_a_one_line_error():
    x = np.random.default_rng(1).normal(size=(1000, 4)).astype(np.float32)
    with pytest.raises(TrainingError, match="lower --learning-rate"):
        train(VAE(4, latent_dim=2, hidden=(16,)), x, config=TrainConfig(epochs=3, learning_rate=1e9), progress=False)


def test_resuming_with_another_network_is_refused(tmp_path):
    x = np.random.default_rng(1).normal(size=(1000, 4)).astype(np.float32)
    ckpt = tmp_path / "m.checkpoint"
    config = TrainConfig(epochs=2, batch_size=64)
    train(VAE(4, latent_dim=2, hidden=(16,)), x, config=config, progress=False, checkpoint=ckpt)
    with pytest.raises(TrainingError, match="is from another input or other settings"):
        train(VAE(4, latent_dim=2, hidden=(8,)), x, config=TrainConfig(epochs=4, batch_size=64), progress=False,
              checkpoint=ckpt, resume=True)  # fmt: skip


def test_bfloat16_hidden_layers_move_the_output_little_and_keep_it_off_the_bfloat16_grid():
    torch.manual_seed(0)
    vae = VAE(12, latent_dim=12, hidden=(64, 64)).eval()
    z, noise = torch.randn(4096, 12), torch.randn(4096, 12)
    exact = vae.generate(z, noise=noise)
    low = vae.generate(z, noise=noise, precision="bfloat16")
    assert torch.equal(exact, vae.decoder(z).mean + vae.decoder(z).stddev * noise)  # float32 as before
    assert low.dtype == torch.float32
    assert 0 < (low - exact).abs().max() < 0.02 * exact.abs().max()
    mean = vae.decoder.mean(z, precision="bfloat16")
    assert not torch.equal(mean, mean.bfloat16().float())  # the output layer is float32
    with pytest.raises(ValueError, match="precision must be one of float32, bfloat16"):
        vae.generate(z, precision="float16")
