"""The bad-input table: every command refuses bad input with one line naming the field or file, exit code 2 (1 for
a file-system failure), never a traceback; and warns where the input is legitimate but likely a mistake.

Each row is (argv, exit code, text the message must hold). Paths in argv are written as {name} and filled from
the module's fixtures: tiny datasets generated once and one run trained for two steps. Add a row with every new
command or option.
"""

from __future__ import annotations

import importlib
import json
import shutil

import numpy as np
import pytest

import physvae
import simulators as S
from physvae.bench import load_suite
from physvae.cli import main
from physvae.evaluate import evaluate
from physvae.viz.preview import preview

TINY = [
    "--train.steps=2",
    "--train.batch_size=2",
    "--train.threads=1",
    "--model.latent_dim=4",
    "--model.channels=4",
    "--model.features=8",
    "--model.rnn_hidden=8",
    "--quiet",
]


def _gen(root, name, system="pendulum", size=16, frames=10, **over):
    cfg = S.DatasetConfig(system=system, n_frames=frames, splits={"train": 4, "test": 3})
    cfg.render.size = size
    for key, value in over.items():
        setattr(cfg.render, key, value)
    return S.generate(cfg, root / name)


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """Tiny datasets, a two-step run and its damaged copies, files where folders are expected."""
    root = tmp_path_factory.mktemp("bad")
    p = {"root": root}
    p["p16"] = _gen(root, "p16")
    p["p32"] = _gen(root, "p32", size=32)
    p["rgb"] = _gen(root, "rgb", channels=3)
    p["spring"] = _gen(root, "spring", system="mass_spring")
    p["short"] = _gen(root, "short", frames=3)
    p["box"] = _gen(root, "box", system="balls", size=16, binarize=True)
    p["nan"] = _nan_dataset(p["p16"], root / "nan")
    p["file"] = root / "a_file"
    p["file"].write_text("not a folder")
    p["run"] = root / "run"
    assert main(["train", "--data", str(p["p16"]), "--out", str(p["run"]), *TINY]) == 0
    for name, damage in {
        "truncated": lambda r: (r / "model.pt").write_bytes((r / "model.pt").read_bytes()[:500]),
        "nospec": lambda r: (r / "spec.json").unlink(),
        "edited": lambda r: (r / "config.toml").write_text(
            (r / "config.toml").read_text().replace("latent_dim = 4", "latent_dim = 6")
        ),
        "badspec": lambda r: (r / "spec.json").write_text("{not json"),
        "notpt": lambda r: (r / "model.pt").write_text("hello"),
        "badtoml": lambda r: (r / "config.toml").write_text("model = [[["),
    }.items():
        shutil.copytree(p["run"], root / name)
        damage(root / name)
        p[name] = root / name
    p["halfrun"] = root / "halfrun"  # killed between config.toml and spec.json by an older physvae
    p["halfrun"].mkdir()
    shutil.copy(p["run"] / "config.toml", p["halfrun"] / "config.toml")
    p["empty"] = root / "empty"
    p["empty"].mkdir()
    suites = {
        "dup_models": _suite(models=[("A", "static"), ("A", "gru")]),
        "dup_data": _suite(datasets=2),
        "long_context": _suite(eval_line="eval = {n_context = 8}"),
        "bad_metric": _suite(metrics='["nope"]'),
        "bad_preset": _suite(preset="nope"),
        "bad_transition": _suite(models=[("A", "nope")]),
        "moved_key": _suite(eval_line="n_context = 3"),
        "bad_toml": "name = [",
        "no_models": _suite(models=[]),
        "bad_train_key": _suite(train="nope = 1"),
        "bad_override": _suite(models=[("A", "static")], model_set='["model.latent_dim=0"]'),
    }
    for name, text in suites.items():
        p[f"suite_{name}"] = root / f"{name}.toml"
        p[f"suite_{name}"].write_text(text)
    return p


def _nan_dataset(source, out):
    data = S.load_dataset(source)
    meta = {k: v for k, v in data.meta.items() if k not in ("splits", "schema_version")}
    splits = {}
    for name in data.split_names:
        s = data[name]
        states = np.array(s.states)
        states[0, 2:4] = np.nan
        splits[name] = {"frames": np.array(s.frames), "states": states, "params": np.array(s.params)}
    return S.write_dataset(out, splits, meta)


def _suite(
    models=(("A", "static"),),
    datasets=1,
    eval_line="",
    metrics='["recon_mse"]',
    preset="dvbf_pendulum16",
    train="steps = 2",
    model_set="[]",
):
    text = f'name = "t"\nmetrics = {metrics}\n[train]\n{train}\n'
    for _ in range(datasets):
        text += f'[[datasets]]\nname = "d"\npreset = "{preset}"\nframes = 6\nsplits = {{train = 4, test = 2}}\n{eval_line}\n'
    for name, transition in models:
        text += f'[[models]]\nname = "{name}"\ntransition = "{transition}"\nset = {model_set}\n'
    return text


G = ["generate", "--out", "{root}/g", "--quiet", "--train", "2", "--test", "2"]
GP = [*G, "pendulum"]
T = ["train", "--data", "{p16}", "--out", "{root}/t", *TINY]
E = ["evaluate", "{run}", "--out", "{root}/e", "--no-figures", "--no-poly"]

GENERATE = [
    (["generate", "--out", "{root}/g"], 2, "give either a SYSTEM or --preset"),
    ([*G, "pendulum", "--preset", "kvae_box32"], 2, "give either a SYSTEM or --preset"),
    ([*G, "--preset", "nope"], 2, "unknown preset 'nope'"),
    ([*G, "nope"], 2, "nope"),
    ([*GP, "--size", "4"], 2, "render.size must be an integer >= 8"),
    ([*GP, "--size", "-1"], 2, "render.size"),
    ([*GP, "--size", "abc"], 2, "--size: invalid int value"),
    ([*GP, "--frames", "1"], 2, "n_frames must be an integer >= 2"),
    ([*GP, "--frames", "-5"], 2, "n_frames"),
    ([*GP, "--frames", "100000000"], 2, "n_frames / render.size: one sequence of 100,000,000 frames"),
    ([*GP, "--size", "16384", "--frames", "2000"], 2, "above the 1.0 GiB one worker can hold"),
    ([*GP, "--train", "10000000000"], 2, "free"),
    ([*GP, "--train", "-1"], 2, "splits.train must be an integer >= 1"),
    ([*GP, "--seed", "-1"], 2, "seed must be an integer >= 0"),
    ([*GP, "--jobs", "0"], 2, "jobs must be at least 1"),
    ([*GP, "--jobs", "-2"], 2, "jobs must be at least 1"),
    ([*GP, "--set", "dt=0"], 2, "dt must be a finite number > 0"),
    ([*GP, "--set", "dt=-0.1"], 2, "dt must be a finite number > 0"),
    ([*GP, "--set", "dt=1e6"], 2, "dt=1e+06 asks for 100,000,000 solver sub-steps per frame"),
    ([*GP, "--set", "dt=nan"], 2, "dt must be a finite number > 0"),
    ([*GP, "--set", "dt"], 2, "must look like dotted.key=value"),
    ([*GP, "--set", "nope=1"], 2, "nope"),
    ([*GP, "--set", "params.nope=1"], 2, "unknown key 'params.nope'"),
    ([*GP, "--set", "render.nope=1"], 2, "render.nope"),
    ([*GP, "--set", "n_frames=abc"], 2, "n_frames"),
    ([*GP, "--set", "params.mass=[-1, 1]"], 2, "pendulum.mass must be > 0"),
    ([*GP, "--set", "params.mass=[2, 1]"], 2, "pendulum.mass must have low <= high"),
    ([*GP, "--set", "params.mass=3"], 2, "mass"),
    ([*GP, "--set", "params.length=[0, 1]"], 2, "pendulum.length must be > 0"),
    ([*GP, "--set", "params.gravity=[-1, 0]"], 2, "pendulum.gravity must be >= 0"),
    ([*GP, "--set", "params.damping=[-1, 0]"], 2, "pendulum.damping must be >= 0"),
    ([*GP, "--set", "params.theta0=[1, 0]"], 2, "pendulum.theta0 must have low <= high"),
    ([*GP, "--set", 'params.omega0=["a", 1]'], 2, "omega0"),
    ([*GP, "--set", "params.radius=[-1, 1]"], 2, "pendulum.radius must be >= 0"),
    ([*GP, "--set", "params.energy=[-1, 1]"], 2, "pendulum.energy must be >= 0"),
    ([*GP, "--set", "params.init=nope"], 2, "pendulum.init must be one of"),
    ([*GP, "--set", "params.torque_max=-1"], 2, "pendulum.torque_max must be a finite number >= 0"),
    ([*GP, "--set", "params.bob_radius=0"], 2, "pendulum.bob_radius must be a finite number > 0"),
    ([*GP, "--set", "params.rod_width=-1"], 2, "pendulum.rod_width must be a finite number > 0"),
    ([*GP, "--set", "params.max_step=0"], 2, "pendulum.max_step must be a finite number > 0"),
    ([*GP, "--set", "params.max_step=1e-9"], 2, "solver sub-steps per frame"),
    ([*GP, "--set", "render.channels=2"], 2, "render.channels must be 1 or 3"),
    ([*GP, "--set", "render.background=[2, 0, 0]"], 2, "render.background must be three numbers in [0, 1]"),
    ([*GP, "--set", "render.rod_color=[0, 0]"], 2, "render.rod_color must hold 3 values"),
    ([*GP, "--set", "render.colors=[]"], 2, "render.colors must hold at least one colour"),
    ([*GP, "--set", "render.colors=[[0, 0, 5]]"], 2, "render.colors[0] must be three numbers"),
    ([*GP, "--set", "ood_splits=['val']"], 2, "ood_splits names 'val'"),
    ([*G, "balls", "--set", "params.n_balls=0"], 2, "balls.n_balls must be an integer >= 1"),
    ([*G, "balls", "--set", "params.box=0"], 2, "balls.box must be a finite number > 0"),
    ([*G, "balls", "--set", "params.radius=[-1, 2]"], 2, "balls.radius must be > 0"),
    ([*G, "balls", "--set", "params.radius=[20, 20]"], 2, "cannot fit in balls.box"),
    ([*G, "balls", "--set", "params.mass=[0, 1]"], 2, "balls.mass must be > 0"),
    ([*G, "balls", "--set", "params.speed=[-1, 1]"], 2, "balls.speed must be >= 0"),
    ([*G, "balls", "--set", "params.gravity=[1]"], 2, "params.gravity must hold 2 values"),
    ([*G, "balls", "--set", "params.init=nope"], 2, "balls.init must be one of"),
    ([*G, "balls", "--set", "params.centre_spread=0"], 2, "balls.centre_spread must be"),
    ([*G, "balls", "--set", "params.substeps=0"], 2, "balls.substeps must be an integer >= 1"),
    ([*G, "balls", "--set", "params.substeps=100000"], 2, "solver sub-steps per frame"),
    ([*G, "balls", "--set", "params.colour=1"], 2, "unknown key 'params.colour'"),
    ([*G, "mass_spring", "--set", "params.k=[0, 1]"], 2, "mass_spring.k must be > 0"),
    ([*G, "mass_spring", "--set", "params.mass=[-1, 1]"], 2, "mass_spring.mass must be > 0"),
    ([*G, "mass_spring", "--set", "params.radius=[-1, 1]"], 2, "mass_spring.radius must be >= 0"),
    ([*G, "mass_spring", "--set", "params.ball_radius=0"], 2, "mass_spring.ball_radius must be"),
    ([*G, "mass_spring", "--ood", "--set", "dt=1e3"], 2, "solver sub-steps per frame"),
    ([*G, "double_pendulum", "--set", "params.length=[0, 1]"], 2, "double_pendulum.length must be > 0"),
    ([*G, "double_pendulum", "--set", "params.theta0=[1, -1]"], 2, "double_pendulum.theta0 must have low"),
    ([*G, "double_pendulum", "--set", "params.bob_radius=-1"], 2, "double_pendulum.bob_radius must be"),
    ([*G, "double_pendulum", "--set", "params.rod_width=0"], 2, "double_pendulum.rod_width must be"),
    ([*G, "double_pendulum", "--set", "dt=100"], 2, "solver sub-steps per frame"),
    (["generate", "pendulum", "--out", "{file}/sub", "--quiet"], 2, "a_file is a file, not a folder"),
    (["generate", "pendulum", "--out", "{file}", "--quiet"], 2, "a_file is a file, not a folder"),
    (["generate", "pendulum", "--out", "{p16}", "--quiet"], 2, "already exists"),
    (["generate", "pendulum", "--quiet"], 2, "--out"),
    (["generate", "pendulum", "--out", "{root}/g", "--bogus"], 2, "unrecognized arguments: --bogus"),
]

SHOW = [
    (["show", "{p16}", "--n", "0", "--out", "{root}/s"], 2, "n (sequences to show) must be an integer >= 1"),
    (["show", "{p16}", "--n", "-1", "--out", "{root}/s"], 2, "n (sequences to show) must be an integer >= 1"),
    (["show", "{p16}", "--n", "x"], 2, "--n: invalid int value"),
    (["show", "{p16}", "--split", "nope", "--out", "{root}/s"], 2, "has no split 'nope'"),
    (["show", "{root}/missing"], 2, "does not exist"),
    (["show", "{empty}"], 2, "meta.json is missing"),
    (["show", "{file}"], 2, "a_file"),
    (["show", "{p16}", "--out", "{file}"], 2, "a_file is a file, not a folder"),
    (["show", "{p16}", "--out", "{file}/x"], 2, "a_file is a file, not a folder"),
    (["show", "{p16}", "--bogus"], 2, "unrecognized arguments"),
]

TRAIN = [
    (["train", *TINY], 2, "give --out RUN_DIR"),
    (["train", "--out", "{root}/t", *TINY], 2, "train.data must name a dataset folder"),
    (["train", "--data", "{root}/missing", "--out", "{root}/t", *TINY], 2, "missing does not exist"),
    (["train", "--data", "{empty}", "--out", "{root}/t", *TINY], 2, "meta.json is missing"),
    (["train", "--data", "{p16}", "--out", "{file}/run", *TINY], 2, "a_file is a file, not a folder"),
    (["train", "--data", "{p16}", "--out", "{file}", *TINY], 2, "a_file is a file, not a folder"),
    (["train", "--data", "{p16}", "--out", "{run}", *TINY], 2, "already holds a run"),
    (["train", "--config", "{root}/missing.toml", "--out", "{root}/t"], 2, "missing.toml does not exist"),
    (["train", "--config", "{badtoml}/config.toml", "--out", "{root}/t"], 2, "is not valid TOML"),
    (["train", "--resume", "{root}/missing"], 2, "is not a run folder"),
    (["train", "--resume", "{nospec}"], 2, "has no spec.json"),
    (["train", "--resume", "{halfrun}"], 2, "has no spec.json"),
    (["train", "--resume", "{badspec}"], 2, "spec.json is not a valid data spec"),
    (["train", "--resume", "{run}", "--train.steps=10"], 2, "it takes no --train.steps=10"),
    (["train", "--resume", "{run}", "--data", "{p16}"], 2, "it takes no --data"),
    (["train", "--resume", "{run}", "--out", "{root}/x"], 2, "it takes no --out"),
    ([*T, "--model.transition=nope"], 2, "unknown transition 'nope'"),
    ([*T, "--model.latent_dim=0"], 2, "model.latent_dim must be an integer >= 1"),
    ([*T, "--model.latent_dim=abc"], 2, "latent_dim"),
    ([*T, "--model.inference=nope"], 2, "model.inference must be one of"),
    ([*T, "--model.likelihood=nope"], 2, "model.likelihood must be one of"),
    ([*T, "--model.obs_std=-1"], 2, "model.obs_std must be in [0, 1]"),
    ([*T, "--model.obs_std=5"], 2, "model.obs_std must be in [0, 1]"),
    ([*T, "--model.channels=0"], 2, "model.channels must be an integer >= 1"),
    ([*T, "--model.features=0"], 2, "model.features must be an integer >= 1"),
    ([*T, "--model.rnn_hidden=-1"], 2, "model.rnn_hidden must be an integer >= 1"),
    ([*T, "--model.nope=1"], 2, "unknown key 'model.nope'"),
    ([*T, "--model.locally_linear.regimes=0"], 2, "model.locally_linear.regimes must be"),
    ([*T, "--model.locally_linear.hidden=0"], 2, "model.locally_linear.hidden must be"),
    ([*T, "--model.locally_linear.init_scale=-1"], 2, "model.locally_linear.init_scale must be"),
    ([*T, "--model.locally_linear.init_noise=0"], 2, "model.locally_linear.init_noise must be"),
    ([*T, "--model.locally_linear.max_norm=-1"], 2, "model.locally_linear.max_norm must be"),
    ([*T, "--model.transition=gru", "--model.gru.hidden=0"], 2, "model.gru.hidden must be an integer >= 1"),
    (
        [*T, "--model.transition=neural_ode", "--model.neural_ode.order=3"],
        2,
        "model.neural_ode.order must be",
    ),
    (
        [*T, "--model.transition=neural_ode", "--model.neural_ode.solver=x"],
        2,
        "model.neural_ode.solver must be",
    ),
    (
        [*T, "--model.transition=neural_ode", "--model.neural_ode.hidden=0"],
        2,
        "model.neural_ode.hidden must be",
    ),
    (
        [*T, "--model.transition=neural_ode", "--model.neural_ode.layers=-1"],
        2,
        "model.neural_ode.layers must be",
    ),
    (
        [*T, "--model.transition=neural_ode", "--model.neural_ode.substeps=0"],
        2,
        "model.neural_ode.substeps must",
    ),
    ([*T, "--model.transition=neural_ode", "--model.neural_ode.max_steps=0"], 2, "neural_ode.max_steps must"),
    ([*T, "--model.transition=neural_ode", "--model.neural_ode.rtol=0"], 2, "model.neural_ode.rtol must be"),
    ([*T, "--model.transition=neural_ode", "--model.neural_ode.atol=-1"], 2, "model.neural_ode.atol must be"),
    (
        [*T, "--model.transition=neural_ode", "--model.neural_ode.init_noise=0"],
        2,
        "neural_ode.init_noise must",
    ),
    (
        [*T, "--model.transition=neural_ode", "--model.neural_ode.order=2", "--model.latent_dim=3"],
        2,
        "even latent",
    ),
    ([*T, "--train.steps=0"], 2, "train.steps must be an integer >= 1"),
    ([*T, "--train.steps=1.5"], 2, "train.steps"),
    ([*T, "--train.batch_size=0"], 2, "train.batch_size must be an integer >= 1"),
    ([*T, "--train.window=1"], 2, "train.window must be 0 (whole sequences) or >= 2"),
    ([*T, "--train.window=-1"], 2, "train.window must be an integer >= 0"),
    ([*T, "--train.window=50"], 2, "train.window of 50 frames is longer than the sequences"),
    ([*T, "--train.lr=0"], 2, "train.lr must be a finite number > 0"),
    ([*T, "--train.lr=inf"], 2, "train.lr must be a finite number > 0"),
    ([*T, "--train.lr_final=0"], 2, "train.lr_final must be a finite number > 0"),
    ([*T, "--train.grad_clip=-1"], 2, "train.grad_clip must be a finite number >= 0"),
    ([*T, "--train.kl_warmup=-1"], 2, "train.kl_warmup must be an integer >= 0"),
    ([*T, "--train.free_bits=-1"], 2, "train.free_bits must be a finite number >= 0"),
    ([*T, "--train.mask_prob=1"], 2, "train.mask_prob must be in [0, 1)"),
    ([*T, "--train.predict_weight=-1"], 2, "train.predict_weight must be a finite number >= 0"),
    ([*T, "--train.predict_context=0"], 2, "train.predict_context must be an integer >= 1"),
    ([*T, "--train.predict_weight=1", "--train.predict_context=20"], 2, "train.predict_context is 20 but"),
    (
        [*T, "--train.predict_weight=1", "--train.predict_context=10"],
        2,
        "the prediction term would predict nothing",
    ),
    (
        [*T, "--train.window=4", "--train.predict_context=4"],
        2,
        "train.predict_context is 4 but the training windows",
    ),
    ([*T, "--train.seed=-1"], 2, "train.seed must be an integer >= 0"),
    ([*T, "--train.device=tpu"], 2, "train.device must be auto, cpu or cuda"),
    ([*T, "--train.precision=fp16"], 2, "train.precision must be fp32 or bf16"),
    ([*T, "--train.threads=-1"], 2, "train.threads must be an integer >= 0"),
    ([*T, "--train.checkpoint_every=0"], 2, "train.checkpoint_every must be an integer >= 1"),
    ([*T, "--train.log_every=0"], 2, "train.log_every must be an integer >= 1"),
    ([*T, "--train.train_split=nope"], 2, "has no split 'nope'"),
    ([*T, "--train.nope=1"], 2, "unknown key 'train.nope'"),
    ([*T, "--eval.n_context=0"], 2, "eval.n_context must be an integer >= 1"),
    ([*T, "--eval.drop_probs=[1.5]"], 2, "eval.drop_probs must hold probabilities"),
    ([*T, "--nope"], 2, "unrecognized argument '--nope'"),
    ([*T, "junk"], 2, "unrecognized argument 'junk'"),
    ([*T, "--model.latent_dim"], 2, "has no value"),
    (["train", "--data", "{p32}", "--out", "{root}/t", *TINY, "--model.channels=0"], 2, "model.channels"),
]

EVALUATE = [
    ([*E, "--data", "{p32}"], 2, "has 32×32×1 frames with 0 input(s); run"),
    ([*E, "--data", "{rgb}"], 2, "has 16×16×3 frames"),
    ([*E, "--data", "{box}"], 2, "box"),
    ([*E, "--data", "{spring}"], 2, "--allow-other-data"),
    ([*E, "--data", "{spring}"], 2, "system 'mass_spring' (run: 'pendulum')"),
    ([*E, "--data", "{short}"], 2, "eval.n_context is 5 but split 'test'"),
    ([*E, "--data", "{root}/missing"], 2, "missing does not exist"),
    ([*E, "--data", "{empty}"], 2, "meta.json is missing"),
    ([*E, "--n-context", "0"], 2, "eval.n_context must be an integer >= 1"),
    ([*E, "--n-context", "10"], 2, "eval.n_context is 10 but split 'test'"),
    ([*E, "--n-context", "20"], 2, "the context must leave at least one frame to predict"),
    ([*E, "--horizon", "-1"], 2, "eval.horizon must be an integer >= 0"),
    ([*E, "--horizon", "50"], 2, "eval.n_context 5 + eval.horizon 50 needs sequences of at least 55 frames"),
    ([*E, "--max-sequences", "0"], 2, "eval.max_sequences must be an integer >= 1"),
    ([*E, "--max-sequences", "-3"], 2, "eval.max_sequences must be an integer >= 1"),
    ([*E, "--split", "nope"], 2, "has no split 'nope'"),
    ([*E, "--eval.train_split=nope"], 2, "has no split 'nope'"),
    ([*E, "--eval.gaps=[0]"], 2, "eval.gaps[] must be an integer >= 1"),
    ([*E, "--eval.batch_size=0"], 2, "eval.batch_size must be an integer >= 1"),
    ([*E, "--eval.imputation_first=0"], 2, "eval.imputation_first must be"),
    ([*E, "--eval.seed=-1"], 2, "eval.seed must be an integer >= 0"),
    ([*E, "--eval.nope=1"], 2, "unknown key 'eval.nope'"),
    ([*E, "--model.latent_dim=3"], 2, "evaluate takes only --eval.key=value overrides"),
    ([*E, "--device", "tpu"], 2, "--device: invalid choice"),
    ([*E, "--n-context", "x"], 2, "--n-context: invalid int value"),
    (["evaluate", "{root}/missing"], 2, "is not a run folder (no config.toml)"),
    (["evaluate", "{p16}"], 2, "is not a run folder (no config.toml)"),
    (["evaluate", "{truncated}", "--out", "{root}/e"], 2, "model.pt is truncated or corrupted"),
    (["evaluate", "{notpt}", "--out", "{root}/e"], 2, "model.pt is truncated or corrupted"),
    (["evaluate", "{nospec}", "--out", "{root}/e"], 2, "has no spec.json"),
    (["evaluate", "{badspec}", "--out", "{root}/e"], 2, "spec.json is not a valid data spec"),
    (["evaluate", "{edited}", "--out", "{root}/e"], 2, "was config.toml edited after training?"),
    (["evaluate", "{badtoml}", "--out", "{root}/e"], 2, "config.toml is not valid TOML"),
    (["evaluate", "{run}", "--out", "{file}"], 2, "a_file is a file, not a folder"),
    (["evaluate", "{run}", "--out", "{file}/e"], 2, "a_file is a file, not a folder"),
]

BENCH = [
    (["bench", "--suite", "nope", "--out", "{root}/b"], 2, "no built-in suite 'nope'"),
    (["bench", "--suite", "{root}/missing.toml", "--out", "{root}/b"], 2, "missing.toml does not exist"),
    (["bench", "--suite", "{suite_bad_toml}", "--out", "{root}/b"], 2, "is not valid TOML"),
    (
        ["bench", "--suite", "{suite_dup_models}", "--out", "{root}/b"],
        2,
        "[[models]] names must be unique on each dataset",
    ),
    (["bench", "--suite", "{suite_dup_data}", "--out", "{root}/b"], 2, "[[datasets]] names must be unique"),
    (
        ["bench", "--suite", "{suite_long_context}", "--out", "{root}/b"],
        2,
        "eval.n_context is 8 but suite 't'",
    ),
    (
        ["bench", "--suite", "{suite_bad_metric}", "--out", "{root}/b"],
        2,
        "no evaluation section gives the column",
    ),
    (["bench", "--suite", "{suite_bad_preset}", "--out", "{root}/b"], 2, "unknown preset 'nope'"),
    (["bench", "--suite", "{suite_bad_transition}", "--out", "{root}/b"], 2, "unknown transition 'nope'"),
    (["bench", "--suite", "{suite_moved_key}", "--out", "{root}/b"], 2, "'n_context' has moved"),
    (["bench", "--suite", "{suite_no_models}", "--out", "{root}/b"], 2, "needs at least one [[datasets]]"),
    (["bench", "--suite", "{suite_bad_train_key}", "--out", "{root}/b"], 2, "unknown key 'train.nope'"),
    (["bench", "--suite", "{suite_bad_override}", "--out", "{root}/b"], 2, "model.latent_dim must be"),
    (["bench", "--suite", "smoke", "--out", "{root}/b", "--jobs", "0"], 2, "jobs must be at least 1"),
    (["bench", "--suite", "smoke", "--out", "{root}/b", "--cells", "zzz*"], 2, "matches no cell"),
    (["bench", "--suite", "smoke", "--out", "{root}/b", "--device", "tpu"], 2, "--device: invalid choice"),
    (["bench", "--suite", "smoke", "--out", "{file}"], 2, "a_file is a file, not a folder"),
    (["bench", "--out", "{root}/b"], 2, "--suite"),
]

OTHER = [
    ([], 2, "required"),
    (["nope"], 2, "invalid choice"),
    (["--debug"], 2, "required"),
]

TABLE = [
    pytest.param(argv, code, text, id=f"{argv[0] if argv else 'none'}-{i}")
    for i, (argv, code, text) in enumerate(GENERATE + SHOW + TRAIN + EVALUATE + BENCH + OTHER)
]


def _fill(argv, paths):
    return [a.format(**{k: str(v) for k, v in paths.items()}) for a in argv]


@pytest.mark.parametrize("argv,code,text", TABLE)
def test_bad_input_one_clear_line(paths, capsys, argv, code, text):
    before = sorted(p.name for p in paths["root"].iterdir())
    assert main(_fill(argv, paths)) == code
    err = capsys.readouterr().err
    assert text in err
    assert "Traceback" not in err
    assert sorted(p.name for p in paths["root"].iterdir()) == before  # nothing written, nothing left behind


def test_the_table_is_large():
    assert len(TABLE) >= 150


WARNINGS = [
    (["show", "{p16}", "--n", "100", "--out", "{root}/w"], "holds 4 sequences; showing all of them, not 100"),
    (["show", "{nan}", "--out", "{root}/w"], "sequence(s) [0] hold NaN"),
    ([*T, "--train.steps=1", "--train.precision=bf16", "--train.device=cpu"], "bf16 needs CUDA"),
    ([*T, "--train.steps=1", "--model.likelihood=bernoulli"], "on grey-level data"),
    ([*GP, "--size", "8", "--set", "params.bob_radius=0.01"], "under one pixel wide"),
    ([*GP, "--set", "params.bob_radius=5"], "span more than half the view"),
]


@pytest.mark.parametrize("argv,text", WARNINGS)
def test_legitimate_but_suspicious_input_warns(paths, capsys, argv, text):
    for name in ("t", "g", "w"):
        shutil.rmtree(paths["root"] / name, ignore_errors=True)
    assert main(_fill(argv, paths)) == 0
    err = capsys.readouterr().err
    assert f": warning: {text}" in err or text in err
    assert "Traceback" not in err


def test_other_data_is_evaluated_when_allowed(paths, capsys):
    out = paths["root"] / "e_other"
    assert (
        main([*_fill(E, paths), "--data", str(paths["spring"]), "--allow-other-data", "--out", str(out)]) == 0
    )
    assert json.loads((out / "metrics.json").read_text())["data"] == str(paths["spring"])


def test_a_large_sequence_is_announced_before_writing(paths, capsys, monkeypatch):
    generate = importlib.import_module("simulators.generate")  # the module, not the function of that name
    monkeypatch.setattr(generate, "LARGE_SEQUENCE_BYTES", 1000)
    shutil.rmtree(paths["root"] / "g", ignore_errors=True)
    assert main(_fill(GP, paths)) == 0
    assert "warning: one sequence of 20 frames of 32×32×1 takes 21.1 KiB; the dataset takes 84.6 KiB" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("where", ["generate", "evaluate"])
def test_debug_shows_the_traceback(paths, where):
    argv = {"generate": [*GP, "--frames", "1"], "evaluate": ["evaluate", "{nospec}"]}[where]
    with pytest.raises(S.ConfigError):
        main(["--debug", *_fill(argv, paths)])
    with pytest.raises(S.ConfigError):
        main([*_fill(argv, paths), "--debug"])


def test_os_errors_name_the_path(paths, capsys, monkeypatch):
    import errno

    import physvae.cli as cli

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(paths["root"] / "x.npy"))

    monkeypatch.setattr(cli, "_show", full)
    parser_main = main(["show", str(paths["p16"])])
    err = capsys.readouterr().err
    assert parser_main == 1
    assert f"physvae show: error: cannot use {paths['root'] / 'x.npy'}: no space left on the device" in err


def _fit_with(paths, **model):
    cfg = physvae.RunConfig()
    cfg.train.data = str(paths["p16"])
    for key, value in model.items():
        setattr(cfg.model, key, value)
    return physvae.fit(cfg, paths["root"] / "t", progress=False)


API = {  # the same boundaries through the Python API: the library raises, naming the field or file
    "load a missing run": (lambda p: physvae.load(p["root"] / "missing"), "is not a run folder"),
    "truncated weights": (lambda p: physvae.load(p["truncated"]).model, "truncated or corrupted"),
    "edited config": (lambda p: physvae.load(p["edited"]).model, "edited after training"),
    "other physics": (lambda p: evaluate(p["run"], p["spring"], p["root"] / "e"), "allow_other_data=True"),
    "other frames": (lambda p: evaluate(p["run"], p["p32"], p["root"] / "e"), "32×32×1 frames"),
    "huge dt": (lambda p: S.generate(S.DatasetConfig(dt=1e6), p["root"] / "g"), "solver sub-steps"),
    "no workers": (
        lambda p: S.generate(S.DatasetConfig(), p["root"] / "g", jobs=0),
        "jobs must be at least 1",
    ),
    "show none": (
        lambda p: preview(S.load_dataset(p["p16"])["train"], p["root"] / "s", n=0),
        "sequences to show",
    ),
    "obs_std": (lambda p: _fit_with(p, obs_std=2.0), "model.obs_std must be in [0, 1]"),
    "suite names": (lambda p: load_suite(p["suite_dup_models"]), "names must be unique"),
}


@pytest.mark.parametrize("case", sorted(API))
def test_the_python_api_refuses_the_same_inputs(paths, case):
    call, text = API[case]
    before = sorted(p.name for p in paths["root"].iterdir())
    with pytest.raises(S.ConfigError) as e:
        call(paths)
    assert text in str(e.value)
    assert sorted(p.name for p in paths["root"].iterdir()) == before


def test_a_model_name_may_repeat_on_other_datasets(tmp_path):
    text = 'name = "t"\nmetrics = ["recon_mse"]\n'
    for d in ("a", "b"):
        text += f'[[datasets]]\nname = "{d}"\npreset = "dvbf_pendulum16"\nframes = 6\n'
    for d, transition in (("a", "static"), ("b", "gru")):
        text += f'[[models]]\nname = "M"\ntransition = "{transition}"\ndatasets = ["{d}"]\n'
    (tmp_path / "s.toml").write_text(text)
    assert [m.name for m in load_suite(tmp_path / "s.toml").models] == ["M", "M"]
