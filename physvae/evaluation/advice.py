"""What to try when a model draws the frames but its prediction loses to a trivial baseline.

The reconstruction beats the mean frame (the latents say where the state is), the prediction does not (the
transition does not say how it moves). The remedies named here are the ones measured in this repository's
benchmark records, with their figures, so that a user reads what was seen, not a guess.
"""

from __future__ import annotations

GENERAL = (
    "the frames are drawn but the prediction loses to a trivial baseline, so the transition has not learned how "
    "the state moves: train longer (--train.steps), keep the multi-step prediction term on "
    "(--train.predict_weight=auto, the default: 0.25 for locally_linear once its decoded frames vary, 1 before; 1 "
    "otherwise), or state the physics where it is known (--model.transition=physics)"
)
NEURAL_ODE_NARROW = (
    "for a neural ODE of the second order in a wide latent, a first-order field in a latent near the state's size "
    "(--model.neural_ode.order=1 --model.latent_dim=8) predicted the DVBF pendulum at 0.31x and 0.32x the mean "
    "frame's MSE on two seeds, where the default reached 0.95x (benchmarks/results/neural_ode_order_cpu2); it "
    "predicted the bouncing box worse (0.89x against 0.72x the mean frame's MSE; its predicted frames read by "
    "a pixel reader show the position less well too), a bordered pendulum at 0.59x to 1.19x by seed and "
    "one on a grey background at 1.17x on both seeds; a latent of 16 lay between (pendulum 0.52x and 0.44x, "
    "box 0.83x and 0.85x, bordered pendulum 0.90x)"
)
CENTERED = (
    "the scene does not move over a black background (the training frames' per-pixel median is lit somewhere): "
    "--model.encoder_input=centered has the encoder see the frames' departure from that median; measured with the "
    "narrow first-order neural ODE on the pendulum over mid-grey, 0.48x and 0.83x the mean frame's MSE on two "
    "seeds where the raw input gave 1.17x on both (benchmarks/results/encoder_input_cpu2); it did not help the "
    "default neural ODE there (1.13x and 1.20x against 1.05x and 1.09x), and on a 1-px border it moved with the "
    "seed as the raw input does (1.39x and 0.24x against 1.19x and 0.59x)"
)
NARROW_WIDTH = 8  # the width measured best for the pendulum's first-order field
LIT = 0.1  # a median frame brighter than this anywhere has a static part the raw encoder sees (a border, a grey)


def prediction_advice(transition, encoder=None, median=None) -> list[str]:
    """What to try, most general first, for a model whose ``transition`` (a physvae Transition) predicts no
    better than a trivial baseline; ``encoder`` (its frame encoder) and ``median`` (the training frames'
    per-pixel median, (C, H, W) in [0, 1]) add the centred input where the scene's static part is lit."""
    out = [GENERAL]
    cfg = getattr(transition, "cfg", None)
    if getattr(transition, "name", None) == "neural_ode" and cfg is not None and cfg.coordinates == "":
        if cfg.order == 2 or transition.latent_dim > 2 * NARROW_WIDTH:
            out.append(NEURAL_ODE_NARROW)
    raw = hasattr(encoder, "centered") and not encoder.centered
    if raw and median is not None and float(median.max()) > LIT:
        out.append(CENTERED)
    return out
