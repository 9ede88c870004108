"""Prediction on video drawn with sensor noise is also scored against its frames before the noise."""

import numpy as np
import pytest
import torch

import simulators as S
from physvae.build import DataSpec, build_model
from physvae.config import ModelConfig
from physvae.evaluation.context import EvalContext
from physvae.evaluation.prediction import Prediction
from physvae.evaluation.protocol import EvalConfig
from physvae.metrics import frames as fm


def _data(tmp_path, noise: float):
    cfg = S.preset("dvbf_pendulum16", splits={"train": 6, "test": 7}, n_frames=10)
    cfg.render.binarize, cfg.render.noise = noise == 0, noise
    return S.load_dataset(S.generate(cfg, tmp_path / f"noise{noise}"))


def _context(data) -> EvalContext:
    torch.manual_seed(0)
    cfg = ModelConfig(transition="locally_linear", latent_dim=4, channels=4, features=16, rnn_hidden=16)
    model = build_model(DataSpec.from_dataset(data), cfg).eval()
    return EvalContext(model, data, EvalConfig(n_context=4, horizon=6, batch_size=3, poly_probe=False))


def _frames(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(x, dtype=np.float32) / 255.0).permute(0, 1, 4, 2, 3)


def test_noisy_video_is_scored_against_its_clean_frames_too(tmp_path):
    data = _data(tmp_path, 0.05)
    ctx = _context(data)
    out = Prediction().run(ctx)
    test = data["test"]
    with torch.no_grad():  # the same predictions, scored here against the clean frames in one batch
        pred, _ = ctx.model.predict(_frames(test.frames), 4, 6)
    clean = _frames(test.frames_clean)[:, 4:]
    assert out["clean"]["mse"] == pytest.approx(fm.mse(pred[:, 4:], clean).mean().item(), rel=1e-5)
    errors = fm.normalized_error(pred[:, 4:], clean).numpy()
    assert out["clean"]["vpt_median"] == float(np.median(fm.valid_prediction_time(errors)))
    assert out["clean"]["vpt_quartiles"][1] == out["clean"]["vpt_median"]  # the distribution, same errors
    assert out["clean"]["valid_frames_median"] == float(np.median((errors <= fm.VPT_THRESHOLD).sum(1)))
    noisy = _frames(test.frames)[:, 4:]
    assert out["mse"] == pytest.approx(fm.mse(pred[:, 4:], noisy).mean().item(), rel=1e-5)
    assert out["mse"] != pytest.approx(out["clean"]["mse"], rel=1e-3)


def test_video_without_noise_has_no_clean_scores(tmp_path):
    data = _data(tmp_path, 0.0)
    assert data["test"].frames_clean is None
    assert "clean" not in Prediction().run(_context(data))


def test_resizing_and_dropping_frames_carry_the_clean_frames_along(tmp_path):
    from PIL import Image

    from physvae.dataset_drop import drop_frames
    from physvae.dataset_resize import resize_dataset

    src = _data(tmp_path, 0.05)
    big = S.load_dataset(resize_dataset(src.path, tmp_path / "r32", 32))["test"]
    clean = Image.fromarray(np.asarray(src["test"].frames_clean[2, 3, :, :, 0]))
    expected = np.asarray(clean.resize((32, 32), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(big.frames_clean[2, 3, :, :, 0], expected)
    dropped = S.load_dataset(drop_frames(src.path, tmp_path / "d", 0.2))["test"]
    idx = np.rint(dropped.times / src.dt).astype(int)
    rows = np.arange(len(idx))[:, None]
    np.testing.assert_array_equal(dropped.frames_clean, np.asarray(src["test"].frames_clean)[rows, idx])


def test_reconstructions_over_the_threshold_are_counted_and_bound_vpt_with_a_note(tmp_path):
    from physvae.evaluation.prediction import _bound
    from physvae.evaluation.reconstruction import Reconstruction

    data = _data(tmp_path, 0.05)
    ctx = _context(data)
    out = Reconstruction().run(ctx)
    with torch.no_grad():
        rec, _ = ctx.model.reconstruct(_frames(data["test"].frames), None)
    over = fm.normalized_error(rec, _frames(data["test"].frames)) > fm.VPT_THRESHOLD
    assert out["over_vpt_threshold"] == pytest.approx(over.float().mean().item())
    assert _bound({"over_vpt_threshold": 0.5}) == {} and _bound({}) == {}
    assert _bound({"over_vpt_threshold": 0.8})["vpt_note"].startswith("80% of the test frames are over")
    ctx.results["reconstruction"] = out
    assert ("vpt_note" in Prediction().run(ctx)) == (out["over_vpt_threshold"] > 0.5)


def test_the_trivial_predictions_are_scored_against_the_clean_frames_too_with_no_model(tmp_path):
    from physvae.evaluation.trivial import trivial_for_data

    look = S.preset("dvbf_pendulum16", splits={"train": 6, "test": 7}, n_frames=10)
    look.render.binarize, look.render.noise, look.render.background = False, 0.1, (0.6, 0.6, 0.6)
    data = S.load_dataset(S.generate(look, tmp_path / "lit"))
    cfg = EvalConfig(n_context=4, horizon=6, batch_size=3, poly_probe=False)
    out = trivial_for_data(data.path, cfg)  # the folder alone: no model
    test, train = data["test"], data["train"]
    mean = (np.asarray(train.frames, np.float64) / 255).mean((0, 1))  # (H, W, C)
    clean = np.asarray(test.frames_clean, np.float64)[:, 4:] / 255
    noisy = np.asarray(test.frames, np.float64)[:, 4:] / 255
    held = np.repeat(np.asarray(test.frames, np.float64)[:, 3:4] / 255, 6, axis=1)

    def vpt(pred, truth):  # e_t = mean((gt − pred)²) / mean(gt²), the first t over VPT's threshold
        e = ((truth - pred) ** 2).mean((2, 3, 4)) / (truth**2).mean((2, 3, 4))
        over = e > fm.VPT_THRESHOLD
        return float(np.median(np.where(over.any(1), over.argmax(1), 6)))

    means = np.broadcast_to(mean, clean.shape)
    # on a lit background the mean frame lasts the horizon against the clean frames, not against the noisy ones
    assert out["mean_frame"]["vpt_clean_median"] == vpt(means, clean) == 6
    assert out["mean_frame"]["vpt_median"] == vpt(means, noisy) == 0
    assert out["hold_last"]["vpt_clean_median"] == vpt(held, clean)
    assert out["hold_last"]["pred_mse"] == pytest.approx(((held - noisy) ** 2).mean(), rel=1e-5)
    assert "vpt_clean_median" not in trivial_for_data(_data(tmp_path, 0.0).path, cfg)["mean_frame"]
