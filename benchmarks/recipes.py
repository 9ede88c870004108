"""Model recipes the benchmark scripts share, as ``RunConfig`` overrides."""

# The physics suite's PhysicsRender recipe (physvae/bench/suites/physics.toml): the stated physics in the latent,
# drawn by the render decoder, the velocities' evidence from the positions', and its multi-step prediction term
# (2 to 10 context frames). The latent size is the caller's: the physics' own dimensions and any extras.
PHYSICS_RENDER = [
    "model.transition=physics",
    "model.decoder=render",
    "model.physics.velocity_evidence=difference",
    "train.predict_weight=1.0",
    "train.predict_context=2",
    "train.predict_context_max=10",
]
