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

# The box with its physics stated (benchmarks/results/box_physics_cpu2, PhysicsBoxKpWarm): one ball, elastic
# walls, gravity learned; a keypoint encoder, the process noise started wide and a KL warm-up (without them the
# render decoder stayed at the mean frame); the default prediction term (2 to 6 context frames). The velocity
# evidence is the robust one (its std widened where a bounce bends the path between frames), which that record's
# runs predate.
PHYSICS_BOX = [
    "model.transition=physics",
    "model.physics.system=box",
    "model.latent_dim=4",
    "model.decoder=render",
    "model.physics.velocity_evidence=robust",
    "model.keypoints=4",
    "model.physics.init_noise=1.0",
    "train.kl_warmup=600",
]
