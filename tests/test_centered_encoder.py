"""The centred encoder input (model.encoder_input=centered): the statistics it reads from the training frames, its
invariance to a static border and to the background's grey level, the identity on a white body over black, its
validation, and a run that keeps, resumes and reloads them."""

import numpy as np
import pytest
import torch

import simulators as S
from physvae import RunConfig, fit
from physvae.config import ModelConfig
from physvae.frame_stats import MIN_CONTRAST, median_and_contrast, median_frame
from physvae.nets import FrameEncoder
from physvae.run import load
from simulators import ConfigError

from .resume import assert_same_state, kill_and_resume


def _scene(background=0.0, body=1.0, border=False, n=6, t=5, size=16, seed=0):
    """uint8 frames (n, t, size, size, 1): a 2×2 body at random places over a background, a 1-px border."""
    rng = np.random.default_rng(seed)
    x = np.full((n, t, size, size, 1), background)
    if border:
        x[:, :, [0, -1], :], x[:, :, :, [0, -1]] = 1.0, 1.0
    for i in range(n):
        for j in range(t):
            r, c = rng.integers(1, size - 3, 2)
            x[i, j, r : r + 2, c : c + 2] = body
    return np.round(x * 255).astype(np.uint8)


@pytest.mark.parametrize(
    "background,body,border,want",
    [(0.0, 1.0, False, 1.0), (128 / 255, 1.0, False, 127 / 255), (0.0, 0.6, True, 153 / 255)],
)
def test_the_median_is_the_static_scene_and_the_contrast_the_body_s(background, body, border, want):
    frames = _scene(background, body, border)
    m = median_frame(frames)
    assert m.shape == (1, 16, 16)
    inner = m[0, 1:-1, 1:-1]
    assert np.allclose(
        inner, np.round(background * 255) / 255
    )  # the body covers each pixel under half the time
    if border:
        assert np.all(m[0, 0] == 1.0) and np.all(m[0, :, -1] == 1.0)
    same, contrast = median_and_contrast(frames)
    assert np.array_equal(same, m)  # one sample serves both
    assert contrast == pytest.approx(want, abs=1e-6)


def test_a_still_video_has_the_floor_contrast():
    frames = np.full((2, 3, 16, 16, 1), 40, np.uint8)
    assert median_and_contrast(frames)[1] == MIN_CONTRAST


def _pair(frames_a, frames_b):
    """Two centred encoders with the same weights, each set from its own frames."""
    torch.manual_seed(0)
    a = FrameEncoder(16, 1, 4, 6, centered=True)
    b = FrameEncoder(16, 1, 4, 6, centered=True)
    b.load_state_dict(a.state_dict())
    a.init_input(frames_a)
    b.init_input(frames_b)
    return a, b


def _x(frames):
    return torch.from_numpy(frames.reshape(-1, 16, 16, 1)).permute(0, 3, 1, 2).float() / 255.0


def test_on_a_white_body_over_black_it_is_the_raw_encoder():
    frames = _scene()
    torch.manual_seed(0)
    raw = FrameEncoder(16, 1, 4, 6)
    centered = FrameEncoder(16, 1, 4, 6, centered=True)
    centered.load_state_dict({**raw.state_dict(), "center": centered.center, "contrast": centered.contrast})
    centered.init_input(frames)
    assert torch.equal(centered(_x(frames)), raw(_x(frames)))


def test_a_border_and_a_grey_background_read_as_the_plain_scene():
    plain = _scene(seed=1)
    grey = _scene(background=128 / 255, seed=1)  # the same bodies over mid-grey: half the contrast
    bordered = _scene(border=True, seed=1)
    a, b = _pair(plain, grey)
    assert torch.allclose(a(_x(plain)), b(_x(grey)), atol=1e-5)
    a, c = _pair(plain, bordered)
    assert torch.allclose(a(_x(plain)), c(_x(bordered)), atol=1e-5)


def test_frames_of_another_shape_are_refused_naming_both():
    enc = FrameEncoder(16, 1, 4, 6, centered=True)
    with pytest.raises(ConfigError, match=r"frames of shape \(1, 32, 32\).*\(1, 16, 16\)"):
        enc.init_input(np.zeros((1, 2, 32, 32, 1), np.uint8))


@pytest.mark.parametrize(
    "over,match",
    [
        ({"encoder_input": "median"}, "model.encoder_input must be one of"),
        ({"encoder_input": "centered", "keypoints": 2}, "applies to the conv encoder"),
    ],
)
def test_bad_encoder_input_settings_are_refused(over, match):
    with pytest.raises(ConfigError, match=match):
        ModelConfig(**over).validate()


def test_a_centred_run_keeps_resumes_and_reloads_its_input(tmp_path):
    cfg = S.DatasetConfig(system="pendulum", n_frames=8, splits={"train": 8, "test": 4})
    cfg.render.size, cfg.render.background, cfg.render.border = 16, (0.5, 0.5, 0.5), 1
    data = S.generate(cfg, tmp_path / "data")
    over = [f'train.data="{data}"', "model.transition=neural_ode", "model.latent_dim=4", "model.neural_ode.order=1",
            "model.encoder_input=centered", "model.channels=4", "model.features=8", "model.rnn_hidden=8",
            "train.steps=4", "train.batch_size=4", "train.checkpoint_every=2", "train.log_every=1",
            "train.threads=1"]  # fmt: skip
    run_cfg = RunConfig().with_overrides(over)
    full = fit(run_cfg, tmp_path / "full", progress=False)
    enc = full.model.encoder
    assert enc.contrast.item() == pytest.approx(127 / 255, abs=1e-6)  # a white bob over 0.502 grey
    assert enc.center[0, 0, 0].item() == 1.0 and enc.center[0, 8, 8].item() == pytest.approx(128 / 255)

    resumed = kill_and_resume(run_cfg, tmp_path / "killed", kill_at=3, checkpointed=2)
    a = full.model.state_dict()
    assert "encoder.center" in a and "encoder.contrast" in a
    assert_same_state(a, resumed.model.state_dict())
    reloaded = load(tmp_path / "full")
    assert torch.equal(reloaded.model.encoder.contrast, enc.contrast)
    assert reloaded.config.model.encoder_input == "centered"
