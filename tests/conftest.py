import pytest
import torch

import simulators as S


@pytest.fixture(scope="session")
def pend16(tmp_path_factory):
    """A tiny DVBF-style pendulum dataset (16×16, 15 frames, torques)."""
    cfg = S.preset("dvbf_pendulum16", splits={"train": 24, "val": 8, "test": 8})
    return S.generate(cfg, tmp_path_factory.mktemp("data") / "pend16")


@pytest.fixture(scope="session")
def box32(tmp_path_factory):
    """A tiny KVAE-style binarized box (32×32, 20 frames)."""
    cfg = S.preset("kvae_box32", splits={"train": 16, "test": 8})
    return S.generate(cfg, tmp_path_factory.mktemp("data") / "box32")


@pytest.fixture(scope="session")
def pend_events(tmp_path_factory):
    """Normal DVBF pendulum data (8 / 12 / 12 sequences) and the same preset with events in half the sequences:
    (normal, events) folders."""
    from dataclasses import replace

    root = tmp_path_factory.mktemp("events")
    cfg = S.preset("dvbf_pendulum16", splits={"train": 8, "val": 12, "test": 12})
    normal = S.generate(cfg, root / "normal")
    cfg.params = replace(cfg.params, events=S.PendulumEvents(share=0.5))
    return normal, S.generate(cfg, root / "events")


@pytest.fixture
def float64_default():
    """torch's default dtype set to float64 for one test."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
