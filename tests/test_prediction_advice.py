"""A model that draws the frames but predicts no better than a trivial baseline is told what to try: the
general remedies always, and for a free neural ODE of the second order or a wide latent the measured narrow
first-order field; collapse (the reconstruction loses too) is left to its own advice."""

import pytest

from physvae.evaluation.advice import GENERAL, NEURAL_ODE_NARROW, prediction_advice
from physvae.evaluation.baselines import _flags, _moves_wrong
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
