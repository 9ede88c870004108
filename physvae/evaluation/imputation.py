"""KVAE's imputation protocols: frames hidden at random after the first few, and blocks of hidden frames.

Scored on the hidden frames only: Hamming distance for binarized data (with KVAE's consecutive-frame baseline),
MSE otherwise.
"""

from __future__ import annotations

import numpy as np
import torch

from ..metrics import frames as fm
from .sections import Section

KEYS = (
    ("drop", "0.5"),
    ("gap", "5"),
    ("baseline_consecutive_hamming",),
)  # what the "imputation" column shows


class Imputation(Section):
    name = "imputation"
    columns = {"imputation": "", "imputation_curve": ""}  # a few points; every point of both curves

    def run(self, ctx) -> dict:
        cfg, split = ctx.cfg, ctx.test
        binarized = bool(ctx.data.meta.get("binarized"))
        rng = np.random.default_rng(cfg.seed)
        metric = fm.hamming if binarized else fm.mse
        first, t_len = cfg.imputation_first, split.frames.shape[1]

        def score(mask_of) -> float:
            total, count = 0.0, 0
            with torch.no_grad():
                for b in ctx.batches(split):
                    mask = mask_of(*b.frames.shape[:2]).to(ctx.device)
                    rec, _ = ctx.model.reconstruct(b.frames, mask, b.inputs, b.times)
                    hidden = mask == 0
                    total += float(metric(rec, b.frames)[hidden].sum())
                    count += int(hidden.sum())
            return total / max(count, 1)

        def dropped(p):
            def make(bs, t):
                m = torch.from_numpy((rng.random((bs, t)) >= p).astype(np.float32))
                m[:, :first] = 1
                return m

            return make

        def gap(g):
            def make(bs, t):
                m = torch.ones(bs, t)
                m[:, first : first + g] = 0
                return m

            return make

        out = {
            "metric": "hamming" if binarized else "mse",
            "first_observed": first,
            "drop": {str(p): score(dropped(p)) for p in cfg.drop_probs},
            "gap": {str(g): score(gap(g)) for g in cfg.gaps if first + g < t_len},
        }
        if binarized:
            truth = ctx.dataset(split).batch(np.arange(ctx.count(split))).frames
            out["baseline_consecutive_hamming"] = fm.consecutive_hamming_baseline(truth)
        return out

    def table(self, output: dict, column: str) -> dict[str, float]:
        """``imputation``: a few points of the curves, ``imputation_<metric>.drop_0.5``, ``.gap_5`` and the
        baseline; ``imputation_curve``: every drop probability and gap scored (``.drop_0.1``, …, ``.gap_15``)."""
        if column == "imputation_curve":
            keys = [(k, p) for k in ("drop", "gap") for p in output.get(k, {})]
            return self._row(output, keys)
        return self._row(output, KEYS)

    @staticmethod
    def _row(output: dict, keys_list) -> dict[str, float]:
        row = {}
        for keys in keys_list:
            v = output
            for k in keys:
                v = v.get(k) if isinstance(v, dict) else None
            if v is not None:
                row[f"imputation_{output.get('metric', '')}." + "_".join(keys)] = float(v)
        return row
