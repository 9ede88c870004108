"""The keypoint encoder: a spatial soft-argmax finds a lit pixel's centre; the option is checked and wired in."""

import pytest
import torch

from physvae import RunConfig
from physvae.build import build_model
from physvae.model import DataSpec
from physvae.nets import KeypointEncoder
from simulators import ConfigError


def test_a_sharp_heat_map_puts_the_keypoint_at_the_lit_pixels_centre():
    enc = KeypointEncoder(16, 1, 4, 20, keypoints=1)
    with torch.no_grad():  # heat = 50 · SiLU(2x − 1) at each pixel: a lit pixel outweighs the rest by e^50
        for conv in enc.heat[0], enc.heat[2]:
            conv.weight.zero_(), conv.bias.zero_()
        enc.heat[0].weight[0, 0, 1, 1] = 1.0
        enc.heat[2].weight[0, 0, 1, 1] = 50.0
    x = torch.zeros(3, 1, 16, 16)
    for i, (row, col) in enumerate([(3, 12), (10, 2), (0, 15)]):
        x[i, 0, row, col] = 1.0
    points = enc(x)[:, -2:]  # (x, y) in [−1, 1]: column, then row
    expected = torch.tensor([[12.5, 3.5], [2.5, 10.5], [15.5, 0.5]]) / 16 * 2 - 1
    torch.testing.assert_close(points, expected, atol=1e-6, rtol=0)
    assert enc(x).shape == (3, 20)  # 18 conv features beside the keypoint's two


def test_keypoints_need_room_in_the_features_and_build_into_a_model():
    with pytest.raises(ConfigError, match="model.keypoints = 8 needs model.features > 16"):
        RunConfig().with_overrides(["model.keypoints=8", "model.features=16"]).validate()
    with pytest.raises(ConfigError, match="model.keypoints must be"):
        RunConfig().with_overrides(["model.keypoints=-1"]).validate()
    spec = DataSpec(size=16, channels=1, input_dim=0, dt=0.1, binarized=False, state_names=[])
    cfg = RunConfig().with_overrides(["model.keypoints=3", "model.features=16", "model.latent_dim=4"]).model
    model = build_model(spec, cfg)
    assert isinstance(model.encoder, KeypointEncoder)
    post = model.infer(torch.rand(2, 5, 1, 16, 16), sample=False)
    assert post.q_mean.shape == (2, 5, 4) and torch.isfinite(post.q_mean).all()


def test_a_keypoint_reads_the_colour_of_what_it_sits_on():
    enc = KeypointEncoder(16, 3, 4, 30, keypoints=1, colors=True)
    with torch.no_grad():  # heat = 50 · SiLU(Σ_c (2x_c − 1) + 2): −13 on black, above 80 on every disc here
        for conv in enc.heat[0], enc.heat[2]:
            conv.weight.zero_(), conv.bias.zero_()
        enc.heat[0].weight[0, :, 1, 1] = 1.0
        enc.heat[0].bias[0] = 2.0
        enc.heat[2].weight[0, 0, 1, 1] = 50.0
    colors = torch.tensor([[0.9, 0.3, 0.25], [0.95, 0.8, 0.2], [0.8, 0.4, 0.9]])
    x = torch.zeros(3, 3, 16, 16)
    for i, (row, col) in enumerate([(3, 12), (10, 2), (0, 15)]):
        x[i, :, row : row + 1, col : col + 1] = colors[i, :, None, None]
    out = enc(x)
    assert out.shape == (3, 30)  # 25 conv features, the keypoint's (x, y) and its colour (3)
    torch.testing.assert_close(out[:, -3:], colors, atol=1e-5, rtol=0)
    expected = torch.tensor([[12.5, 3.5], [2.5, 10.5], [15.5, 0.5]]) / 16 * 2 - 1
    torch.testing.assert_close(out[:, -5:-3], expected, atol=1e-5, rtol=0)


def test_keypoint_colours_need_keypoints_and_room():
    with pytest.raises(ConfigError, match="keypoint_colors needs model.keypoints > 0"):
        RunConfig().with_overrides(["model.keypoint_colors=true"]).validate()
    with pytest.raises(
        ConfigError, match="needs model.features > 10 \\(two per keypoint and 3 per keypoint colour"
    ):
        KeypointEncoder(16, 3, 4, 10, keypoints=2, colors=True)
    spec = DataSpec(size=16, channels=3, input_dim=0, dt=0.1, binarized=False, state_names=[])
    over = ["model.keypoints=2", "model.keypoint_colors=true", "model.features=16", "model.latent_dim=4"]
    model = build_model(spec, RunConfig().with_overrides(over).model)
    assert model.encoder.colors and model.encode(torch.rand(2, 5, 3, 16, 16)).shape == (2, 5, 16)
