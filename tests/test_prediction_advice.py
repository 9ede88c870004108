"""A model that draws the frames but predicts no better than a trivial baseline is told what to try: the
general remedies always, and for a free neural ODE of the second order or a wide latent the measured narrow
first-order field; collapse (the reconstruction loses too) is left to its own advice."""

import numpy as np
import pytest

from physvae.evaluation.advice import CENTERED, GENERAL, NEURAL_ODE_NARROW, prediction_advice
from physvae.evaluation.baselines import _flags, _moves_wrong
from physvae.nets import FrameEncoder, KeypointEncoder
from physvae.transitions import TRANSITIONS
from physvae.transitions.neural_ode import NeuralODEConfig


def _ode(latent_dim, **kw):
    return TRANSITIONS["neural_ode"](latent_dim, 0, NeuralODEConfig(**kw))


@pytest.mark.parametrize(
    "latent_dim,kw,narrow",
    [
        (32, {}, True),  # the default: second order, 32 wide
        (8, {}, True),  # second order at width 8 also slowed down
        (32, {"order": 1}, True),  # first order, wide: posterior θ̇ 0.70
        (8, {"order": 1}, False),  # already the narrow first-order field
        (16, {"order": 1}, False),
        (6, {"coordinates": "pendulum"}, False),  # stated coordinates: not the free field
    ],
)
def test_a_neural_ode_is_pointed_to_the_narrow_first_order_field_unless_it_is_one(latent_dim, kw, narrow):
    advice = prediction_advice(_ode(latent_dim, **kw))
    assert advice[0] == GENERAL
    assert (NEURAL_ODE_NARROW in advice) is narrow


def test_other_transitions_get_the_general_advice_alone():
    assert prediction_advice(TRANSITIONS["locally_linear"](8, 0)) == [GENERAL]
    assert prediction_advice(None) == [GENERAL]


@pytest.mark.parametrize(
    "background,centered,advised",
    [
        (0.5, False, True),  # a grey background read raw: the centred input is advised
        (0.0, False, False),  # black: nothing static is lit
        (0.5, True, False),  # already centred
    ],
)
def test_the_centred_input_is_advised_where_the_static_scene_is_lit(background, centered, advised):
    median = np.full((1, 16, 16), background, np.float32)
    encoder = FrameEncoder(16, 1, 4, 8, centered=centered)
    advice = prediction_advice(TRANSITIONS["locally_linear"](8, 0), encoder, median)
    assert (CENTERED in advice) is advised


def test_a_bordered_black_scene_counts_as_lit_and_the_keypoint_encoder_is_left_alone():
    median = np.zeros((1, 16, 16), np.float32)
    median[0, 0, :] = 1.0  # a 1-px border's top row
    ll = TRANSITIONS["locally_linear"](8, 0)
    assert CENTERED in prediction_advice(ll, FrameEncoder(16, 1, 4, 8), median)
    assert CENTERED not in prediction_advice(ll, KeypointEncoder(16, 1, 4, 16, 2), median)


def _base(mean_recon=0.02, mean_pred=0.02, hold=0.04):
    return {"mean_frame": {"recon_mse": mean_recon, "pred_mse": mean_pred}, "hold_last": {"pred_mse": hold}}


@pytest.mark.parametrize(
    "recon,pred,advised",
    [
        (0.001, 0.03, True),  # draws the frames, loses the motion: advice
        (0.001, 0.01, False),  # beats both baselines
        (0.03, 0.03, False),  # loses the reconstruction too: collapse's own advice
    ],
)
def test_advice_is_given_when_the_frames_are_drawn_and_the_motion_is_not(recon, pred, advised):
    results = {"reconstruction": {"mse": recon}, "prediction": {"mse": pred}}
    assert _moves_wrong(_flags(results, _base())) is advised


def test_advice_is_given_where_only_the_position_read_from_the_predicted_frames_loses():
    position = [
        "position R² read from the predicted frames -9.4 does not beat holding the last context frame (0.1; both read by the pixel reader)"
    ]
    drawn = _flags({"reconstruction": {"mse": 0.001}, "prediction": {"mse": 0.01}}, _base())
    assert drawn == [] and _moves_wrong(drawn + position)
    collapsed = _flags({"reconstruction": {"mse": 0.03}, "prediction": {"mse": 0.03}}, _base())
    assert not _moves_wrong(collapsed + position)  # collapse has its own advice
