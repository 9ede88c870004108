import json

import pytest

from physvae.cli import main


def test_generate_and_show(tmp_path, capsys):
    out = tmp_path / "box"
    args = ["generate", "balls", "--out", str(out), "--train", "6", "--test", "3", "--frames", "8", "--quiet"]
    assert main(args + ["--set", "params.n_balls=2", "--set", "render.channels=3", "--ood"]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["config"]["params"]["n_balls"] == 2 and meta["frame_shape"] == [32, 32, 3]
    assert set(meta["splits"]) == {"train", "test", "test_ood"}
    assert main(["show", str(out), "--n", "2"]) == 0
    assert (out / "preview" / "preview.gif").stat().st_size > 0
    assert (out / "preview" / "preview.png").stat().st_size > 0


@pytest.mark.parametrize(
    "args,message",
    [
        (["--preset", "nope"], "unknown preset 'nope'"),
        (["balls", "--set", "params.radius=[-1, 2]"], "balls.radius must be > 0"),
        (["balls", "--set", "params.colour=1"], "unknown key 'params.colour'"),
        (["pendulum", "--size", "4"], "render.size must be an integer >= 8"),
        (["balls", "--preset", "kvae_box32"], "either a SYSTEM or --preset"),
        (["pendulum", "--jobs", "0"], "jobs must be at least 1 (worker processes), got 0"),
    ],
)
def test_generate_bad_input_exits_2_with_the_field(tmp_path, capsys, args, message):
    assert main(["generate", *args, "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


class _ClosedPipe:
    """A stdout whose reader has gone (``physvae ... | head``): every write raises BrokenPipeError."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass


def test_a_closed_pipe_ends_the_command_quietly(tmp_path, capsys, monkeypatch):
    out = tmp_path / "box"
    args = ["generate", "balls", "--out", str(out), "--train", "2", "--test", "1", "--frames", "4", "--quiet"]
    monkeypatch.setattr("sys.stdout", _ClosedPipe())
    assert main(args) == 0
    assert "error" not in capsys.readouterr().err and (out / "meta.json").is_file()
