import numpy as np
import pytest
import torch

import simulators as S
from physvae.content import Content
from physvae.evaluation import SECTIONS, EvalConfig
from physvae.evaluation.context import EvalContext
from physvae.evaluation.disentanglement import Disentanglement, Look, partners, poly_r2
from physvae.metrics import readout
from physvae.model import Posterior


@pytest.fixture(scope="module")
def colors32(tmp_path_factory):
    """A small DM-colors pendulum: one of 6 hues and a mass-dependent bob size per sequence."""
    cfg = S.preset("dm_pendulum_colors32", n_frames=8, splits={"train": 60, "test": 30})
    return S.load_dataset(S.generate(cfg, tmp_path_factory.mktemp("data") / "colors32"))


class Identity:
    def mean(self, x):
        return x


class Drawn:
    """A model whose latents are read from the frames by construction: z_t = the object's centroid (row, col)
    per frame, z_c = its colour and radius. The decoder draws that disc with the colour of z_c, so the model is
    disentangled; with ``entangled`` z_t also carries the colour and the decoder takes it from there, ignoring
    z_c."""

    device = torch.device("cpu")
    likelihood = Identity()

    def __init__(self, look: Look, entangled: bool = False, content=True):
        self.look, self.entangled, self.content = look, entangled, content or None
        self.bg = torch.from_numpy(look.background).float()

    def infer(self, frames, mask=None, inputs=None, sample=False, times=None) -> Posterior:
        kw = {"channel_axis": -3}
        z = torch.from_numpy(readout.centroids(frames, self.look.background, **kw)).float()  # (B, T, 2)
        color = torch.from_numpy(np.median(readout.mean_color(frames, self.look.background, **kw), 1)).float()
        radius = torch.from_numpy(np.sqrt(readout.area(frames, self.look.background, **kw).max(1) / np.pi))
        if self.entangled:
            z = torch.cat([z, color[:, None].expand(-1, z.shape[1], -1)], -1)
        zc = torch.cat([color, radius[:, None].float()], -1)
        one = torch.ones_like(z)
        return Posterior(z, z, one, z, one, content=Content(zc, zc, torch.ones_like(zc)))

    def decode(self, z, content):
        """Discs with coverage clip(r + ½ − d, 0, 1) as the simulators draw them: (B, T, C, H, W)."""
        color = z[..., 2:] if self.entangled else content[:, None, :-1].expand(-1, z.shape[1], -1)
        radius = content[:, None, -1, None, None]  # (B, 1, 1, 1)
        grid = torch.arange(32) + 0.5
        d = torch.hypot(grid[:, None] - z[..., 0, None, None], grid[None, :] - z[..., 1, None, None])
        a = (radius + 0.5 - d).clamp(0, 1)[:, :, None]  # (B, T, 1, H, W)
        bg = self.bg[:, None, None]
        return bg + a * (color[..., None, None] - bg)


def _run(model, data):
    ctx = EvalContext(model, data, EvalConfig(batch_size=16))
    return Disentanglement().run(ctx)


def test_a_model_disentangled_by_construction_passes(colors32):
    out = _run(Drawn(Look.of(colors32.config.render)), colors32)
    color, swap = out["color"], out["swap"]
    assert color["n_colors"] == 6 and color["from_content"] == 1.0
    assert color["from_motion"] <= color["chance"] + 0.15
    assert out["size"]["from_content"] > 0.95 and out["size"]["from_motion"] < 0.5
    assert out["size"]["from_content_poly"] > 0.99 and out["size"]["from_motion_poly"] < 0.5  # area = π r²
    assert out["state"]["from_motion"]["x"] > 0.95 and out["state"]["from_content"]["x"] < 0.3
    assert swap["pairs"] == 30 and swap["color_is_b"] == 1.0 and swap["color_is_a"] == 0.0
    assert swap["color_own"] == 1.0
    assert swap["centroid_error_px"] < 0.5 < 5 < swap["a_to_b_distance_px"]
    assert swap["size_error_to_b"] < 0.05 < swap["size_a_to_b"]


def test_a_decoder_that_ignores_content_fails_the_swap(colors32):
    out = _run(Drawn(Look.of(colors32.config.render), entangled=True), colors32)
    assert out["color"]["from_motion"] == 1.0
    assert out["swap"]["color_is_b"] == 0.0 and out["swap"]["color_is_a"] == 1.0 == out["swap"]["color_own"]


class OneColor(Drawn):
    """Draws every disc in the palette's first colour, whatever z_c says: a decoder that learned no colour."""

    def decode(self, z, content):
        content = content.clone()
        content[:, :-1] = torch.from_numpy(self.look.palette[0]).float()
        return super().decode(z, content)


def test_a_decoder_that_draws_no_colour_is_told_by_its_own_reconstructions(colors32):
    out = _run(OneColor(Look.of(colors32.config.render)), colors32)
    share = out["swap"]["color_own"]  # the sequences that happen to have the palette's first colour
    assert share < 0.5 and out["swap"]["color_is_b"] < 0.5
    assert out["color"]["from_content"] == 1.0  # z_c holds the colour: only the decoder misses it


def test_skipped_without_a_content_latent(colors32):
    out = _run(Drawn(Look.of(colors32.config.render), content=False), colors32)
    assert "content_dim" in out["skipped"]
    assert "disentanglement" in SECTIONS


def test_look_gives_the_palette_in_the_frames_channels():
    render = S.RenderConfig(channels=1, colors=[(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)], background=(0.5, 0.5, 0.5))
    look = Look.of(render)
    np.testing.assert_allclose(look.palette[:, 0], [0.299, 0.114], rtol=1e-6)
    np.testing.assert_allclose(look.background, [0.5], rtol=1e-6)
    np.testing.assert_array_equal(look.color_index(np.array([[0.29], [0.1], [0.25]])), [0, 1, 0])


def test_partners_have_another_colour_where_there_is_one():
    np.testing.assert_array_equal(partners(np.array([0, 0, 1, 2, 2])), [2, 2, 3, 0, 0])
    np.testing.assert_array_equal(partners(np.array([4, 4, 4])), [1, 2, 0])


def test_the_cubic_size_probe_reads_a_curve_the_linear_one_misses():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = x[:, 0] ** 2 + 0.5 * x[:, 0] * x[:, 1] ** 2  # no linear part: a line explains nothing
    assert poly_r2(x[:300], y[:300], x[300:], y[300:]) > 0.999
    linear = np.linalg.lstsq(np.c_[x[:300], np.ones(300)], y[:300], rcond=None)[0]
    residual = y[300:] - np.c_[x[300:], np.ones(100)] @ linear
    assert 1 - residual.var() / y[300:].var() < 0.1
    # a target the latents do not hold stays near 0: the penalty keeps 20 monomials from fitting noise
    noise = rng.normal(size=400)
    assert poly_r2(x[:300], noise[:300], x[300:], noise[300:]) < 0.05
