"""A training killed after a checkpoint and resumed: what the kill-and-resume tests share."""

import pytest
import torch

from physvae import RunConfig, fit
from physvae.checkpoint import load as load_ckpt


def kill_and_resume(cfg: RunConfig, run_dir, kill_at: int, checkpointed: int):
    """Train ``cfg`` into ``run_dir``, stop it at step ``kill_at`` (its last checkpoint at ``checkpointed``),
    resume it, and return the resumed run."""

    def kill(step, metrics):
        if step == kill_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(cfg, run_dir, progress=False, callback=kill)
    assert load_ckpt(run_dir / "checkpoints" / "last.pt")["step"] == checkpointed
    return fit(RunConfig(), run_dir, resume=True, progress=False)


def assert_same_state(a: dict, b: dict) -> None:
    """Two state dicts hold the same tensors, key by key."""
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
