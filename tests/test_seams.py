"""The seams between the parts: one package boundary, transitions and evaluation sections as registered objects,
configs that round-trip, old runs that still load, and datasets whose physics (not column names) drive evaluation.
"""

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

import simulators as S
from physvae import RunConfig, Transition, fit, load, register_transition
from physvae.bench import load_suite, run_suite
from physvae.cli import main
from physvae.evaluate import EvalConfig, evaluate
from physvae.evaluation import SECTIONS, Section, register_section
from physvae.importer import import_video
from physvae.transitions import TRANSITIONS, ProcessNoise

PACKAGE = Path(__file__).resolve().parents[1] / "physvae"
TINY = ["model.channels=4", "model.features=16", "model.rnn_hidden=16", "train.steps=3", "train.batch_size=4"]


def _sources():
    return sorted(PACKAGE.rglob("*.py"))


def test_physvae_imports_only_top_level_simulators_names():
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("simulators."):
                pytest.fail(f"{path.name} imports from {node.module}")
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("simulators.") for a in node.names), path.name


def test_no_pendulum_names_no_transition_switches_and_no_global_matplotlib_backend_in_physvae():
    pendulum = {"theta", "omega", "gravity", "length", "sin_theta", "cos_theta"}
    for path in _sources():
        text = path.read_text()
        literals = {
            n.value
            for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        if path.parent.name != "physics":  # physvae/physics/ states systems' equations by design
            assert not literals & pendulum, (path.name, literals & pendulum)
        assert "static" not in literals or path.name == "static.py", path.name  # only its own name
        assert "matplotlib.use(" not in text and "import matplotlib.pyplot" not in text, path.name
    assert "param_names.index" not in "".join(
        p.read_text() for p in _sources()
    )  # parameters are not looked up


@dataclass
class DecayConfig:
    """A transition written in a test file: z_t = a · z_{t−1} with a learned scalar a."""

    init: float = 0.9

    def validate(self, where: str = "decay") -> None:
        S.positive(f"{where}.init", self.init)


class Decay(Transition):
    name, config_class = "test_decay", DecayConfig

    def __init__(self, latent_dim, input_dim=0, config=None):
        super().__init__(latent_dim, input_dim)
        self.process_noise = ProcessNoise(latent_dim)
        self.a = torch.nn.Parameter(torch.tensor((config or DecayConfig()).init))

    def step(self, z, state, dt, u):
        return self.a * z, self.process_noise().expand_as(z), state


@pytest.fixture
def decay():
    register_transition(Decay)
    yield Decay
    TRANSITIONS.pop("test_decay")


def test_a_transition_registered_in_a_test_trains_evaluates_and_benchmarks(decay, pend16, tmp_path):
    cfg = RunConfig().with_overrides(
        [
            f"train.data={json.dumps(str(pend16))}",
            "model.transition=test_decay",
            "model.test_decay.init=0.5",
            *TINY,
        ]
    )
    run = fit(cfg, tmp_path / "run", progress=False)
    assert load(run.path).config.model.test_decay.init == 0.5
    assert isinstance(run.model.transition, Decay) and run.model.transition.a.item() != 0.5  # it learned
    m = evaluate(
        run, out=tmp_path / "ev", cfg=EvalConfig(n_context=4, drop_probs=[0.5], gaps=[3], poly_probe=False)
    )
    assert m["transition"] == "test_decay" and "mean_map" not in m["dynamics"]
    suite = load_suite("smoke")
    suite.models = [m for m in suite.models if m.name == "Static"]
    suite.models[0].name, suite.models[0].transition = "Decay", "test_decay"
    suite.datasets = suite.datasets[:1]
    records = run_suite(suite, tmp_path / "bench", jobs=1, log=lambda s: None)
    assert [r["transition"] for r in records] == ["test_decay"] and "| Decay | 1 |" in (
        tmp_path / "bench" / "results.md"
    ).read_text()


def test_a_bad_transition_setting_names_its_section(decay):
    from simulators import ConfigError

    with pytest.raises(ConfigError, match="model.test_decay.init must be a finite number > 0"):
        RunConfig().with_overrides(
            ["model.transition=test_decay", "model.test_decay.init=-1", "train.data=x"]
        ).validate()
    with pytest.raises(ConfigError, match="unknown key 'model.nonesuch'"):
        RunConfig.from_dict({"model": {"nonesuch": {"a": 1}}})


def test_run_config_round_trips_with_every_section_and_the_protocol(tmp_path):
    cfg = RunConfig().with_overrides(["model.neural_ode.solver=dopri5", "eval.n_context=7", "eval.gaps=[2]"])
    cfg.save(tmp_path / "c.toml")
    back = RunConfig.load(tmp_path / "c.toml")
    assert back == cfg and back.to_dict() == cfg.to_dict()
    assert back.model.neural_ode.solver == "dopri5" and back.eval.n_context == 7 and back.eval.gaps == [2]


def test_a_section_registered_elsewhere_runs_and_gives_its_column(pend16, tmp_path):
    class Frames(Section):
        name, columns = "test_frames", {"test_frames_seen": "seen"}

        def run(self, ctx):
            return {"seen": float(sum(len(b.frames) for b in ctx.batches(ctx.test)))}

    register_section(Frames)
    try:
        cfg = RunConfig().with_overrides([f"train.data={json.dumps(str(pend16))}", *TINY])
        run = fit(cfg, tmp_path / "run", progress=False)
        m = evaluate(run, out=tmp_path / "ev", cfg=EvalConfig(n_context=4, poly_probe=False), figures=False)
        assert m["test_frames"] == {"seen": 8.0} and list(m)[-1] == "test_frames"
        assert Frames().table(m["test_frames"], "test_frames_seen") == {"test_frames_seen": 8.0}
    finally:
        SECTIONS.pop("test_frames")


def test_a_run_saved_before_the_seams_still_loads_and_evaluates_the_same(pend16, tmp_path):
    cfg = RunConfig().with_overrides([f"train.data={json.dumps(str(pend16))}", *TINY])
    run = fit(cfg, tmp_path / "run", progress=False)
    ecfg = EvalConfig(n_context=4, drop_probs=[0.5], gaps=[3], poly_probe=False)
    before = evaluate(run, out=tmp_path / "a", cfg=ecfg, figures=False)
    state = torch.load(run.path / "model.pt", weights_only=False)
    state["model"]["transition.log_noise"] = state["model"].pop("transition.process_noise.log_std")
    state.pop("model_sha256")  # runs of that time carried no checksum of their weights
    torch.save(state, run.path / "model.pt")
    old = cfg.to_dict()
    old.pop("eval")  # written before [eval] existed
    (run.path / "config.toml").write_text(__import__("tomli_w").dumps(old))
    after = evaluate(load(run.path), out=tmp_path / "b", cfg=ecfg, figures=False)
    assert after["reconstruction"] == before["reconstruction"] and after["physics"] == before["physics"]


def test_imported_pendulum_video_keeps_its_velocity_column(pend16, tmp_path):
    """States named like a pendulum's, without kinds: every column is probed, the velocity included."""
    data = S.load_dataset(pend16)
    frames = np.concatenate([data["train"].frames, data["test"].frames])
    states = np.concatenate([data["train"].states, data["test"].states])[..., [2, 3, 1]]
    np.save(tmp_path / "f.npy", frames), np.save(tmp_path / "s.npy", states)
    out = tmp_path / "imp"
    args = ["import", str(tmp_path / "f.npy"), "--out", str(out), "--states", str(tmp_path / "s.npy")]
    assert main(args + ["--state-names", "sin_theta,cos_theta,theta_dot", "--dt", "0.1"]) == 0
    cfg = RunConfig().with_overrides([f"train.data={json.dumps(str(out))}", *TINY])
    m = evaluate(
        fit(cfg, tmp_path / "run", progress=False),
        out=tmp_path / "ev",
        cfg=EvalConfig(n_context=2, poly_probe=False),
        figures=False,
    )
    assert list(m["physics"]["linear"]["r2"]) == ["sin_theta", "cos_theta", "theta_dot"]
    # declared as an angle, a raw angle column is read through its sin and cos
    imp = import_video(
        frames,
        tmp_path / "k",
        states=np.concatenate([data["train"].states, data["test"].states])[..., :2],
        state_names=["phi", "phi_dot"],
        state_kinds=["angle", "velocity"],
        dt=0.1,
    )
    assert S.load_dataset(imp).state_kinds == ["angle", "velocity"]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"state_kinds": ["angle", "speed"]}, "unknown state kind 'speed'"),
        ({"state_kinds": ["angle"]}, "1 state kinds for 2 state columns"),
        ({"params": np.ones((3, 2))}, r"params must have shape \(N, P\) = \(6, P\)"),
        ({"params": "missing.npy"}, "params file missing.npy does not exist"),
    ],
)
def test_import_physics_options_refuse_bad_input(kwargs, match, tmp_path):
    frames = np.zeros((6, 4, 16, 16), np.uint8)
    with pytest.raises(ValueError, match=match):
        import_video(frames, tmp_path / "d", states=np.zeros((6, 4, 2)), **kwargs)
    assert not (tmp_path / "d").exists()


def test_evaluate_cli_uses_the_runs_protocol_with_eval_overrides(pend16, tmp_path, capsys):
    cfg = RunConfig().with_overrides([f"train.data={json.dumps(str(pend16))}", "eval.n_context=3", *TINY])
    run = fit(cfg, tmp_path / "run", progress=False)
    out = tmp_path / "ev"
    assert (
        main(["evaluate", str(run.path), "--out", str(out), "--no-figures", "--eval.gaps=[2]", "--no-poly"])
        == 0
    )
    m = json.loads((out / "metrics.json").read_text())
    assert m["protocol"]["n_context"] == 3 and m["protocol"]["gaps"] == [2] and m["device"] == "cpu"
    assert "protocol: probes fit on 'train'" in capsys.readouterr().out
    assert main(["evaluate", str(run.path), "--out", str(out), "--eval.nope=1"]) == 2
    assert "unknown key 'eval.nope'" in capsys.readouterr().err


@pytest.mark.parametrize("module", sorted(p.stem for p in (PACKAGE.parent / "benchmarks").glob("*.py")))
def test_every_benchmark_script_imports(module):
    """The main job starts with benchmarks.machine: a stale import there breaks scripts/run.sh before it runs."""
    __import__("importlib").import_module(f"benchmarks.{module}")
