"""Content / motion disentanglement of a model with a content latent (``model.content_dim`` > 0).

What a sequence *is* (the object's colour, its size) should be read from z_c and not from z_t; how it *moves* (the
state) from z_t and not from z_c. The truth comes from the frames themselves through the independent read-out
``physvae.metrics.readout`` (no model): each sequence's colour is its read-out colour snapped to the dataset's
palette, its size the largest read-out area over its frames (pixels; the largest, because an object near the
view's edge is partly cut off).

Scores (probes fit on the train split, scored on the test split):
    color: accuracy of a logistic regression from z_c (one per sequence) and from z_t (one per frame), beside
        chance (the share of the test split's majority colour).
    size: R² of a linear regression from z_c and from z_t, and of a cubic one (``*_poly``: ridge regression on
        the standardized latents' monomials up to degree 3, its penalty by cross-validation on the train split),
        since a decoder may draw the size from z_c through a curve (an area grows with a radius squared).
    state: R² of the linear probe from z_t and from z_c (held over the frames), on every state target except
        conserved energies (constant in a sequence: content, not motion).
    swap: decode sequence A's z_t with the z_c of a sequence B of another colour and read the decoded frames out:
        the share whose colour is B's (and A's; and beside them the share of A's reconstructions, decoded with its
        own z_c, that show A's colour: whether the decoder draws the colour at all), the centroid error to A's true trajectory (pixels) beside the
        distance between A's and B's trajectories, the area error relative to B's size beside A's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeCV
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from simulators import object_colors

from ..metrics import readout
from ..metrics.probe import linear_probe
from .sections import Section

SIZE_SPREAD = (
    0.05  # relative std of the sizes over sequences below which size is not scored (it does not vary)
)


class Disentanglement(Section):
    name = "disentanglement"
    columns = {
        "color_acc_content": "color.from_content",
        "color_acc_motion": "color.from_motion",
        "color_chance": "color.chance",
        "swap_color": "swap.color_is_b",
        "swap_centroid_px": "swap.centroid_error_px",
    }

    def run(self, ctx) -> dict:
        if getattr(ctx.model, "content", None) is None:
            return {"skipped": "the model has no content latent (model.content_dim = 0)"}
        render = getattr(ctx.data.config, "render", None)
        if render is None:
            return {"skipped": "imported data: no known background and palette to read colours against"}
        look = Look.of(render)
        train, test = collect(ctx, ctx.train, look), collect(ctx, ctx.test, look)
        varies = {
            "color": render.random_colors and len(render.colors) > 1,
            "size": _spread(train.size) > SIZE_SPREAD,
        }
        if not any(varies.values()):
            return {"skipped": "neither the colour nor the size of the object varies between sequences"}
        out: dict = {}
        if varies["color"]:
            out["color"] = score_color(train, test)
        if varies["size"]:
            out["size"] = score_size(train, test)
        if ctx.test.state_names:
            out["state"] = score_state(ctx, train, test)
        out["swap"] = swap_scores(ctx, test, look, partners(test.color))
        return out


@dataclass
class Look:
    """How the data draws its object: the background (C,) and the palette (P, C) in the frames' channels."""

    background: np.ndarray
    palette: np.ndarray

    @classmethod
    def of(cls, render) -> Look:
        flat = replace(render, random_colors=False)  # object_colors then lists the colours in order
        palette = object_colors(flat, [None], len(render.colors))[0]
        background = object_colors(replace(flat, colors=[render.background]), [None], 1)[0, 0]
        return cls(background.astype(np.float64), palette.astype(np.float64))

    def color_index(self, colors: np.ndarray) -> np.ndarray:
        """Nearest palette entry of colours (..., C): (...) int."""
        return np.argmin(((colors[..., None, :] - self.palette) ** 2).sum(-1), axis=-1)


@dataclass
class Sequences:
    """A split's posterior means z_t (N, T, D) and z_c (N, K), true states (N, T, S) and the read-out truth:
    colour index (N,), size (N,) in pixels, centroids (N, T, 2) in pixels."""

    z: np.ndarray
    content: np.ndarray
    states: np.ndarray
    color: np.ndarray
    size: np.ndarray
    centroids: np.ndarray


def collect(ctx, split, look: Look) -> Sequences:
    """Posterior means and read-out truth of the scored sequences of ``split``."""
    cols: dict[str, list] = {k: [] for k in ("z", "content", "states", "color", "size", "centroids")}
    with torch.no_grad():
        for b in ctx.batches(split):
            post = ctx.model.infer(b.frames, None, b.inputs, sample=False, times=b.times)
            (
                cols["z"].append(post.q_mean.cpu().numpy()),
                cols["content"].append(post.content.mean.cpu().numpy()),
            )
            cols["states"].append(b.states.cpu().numpy())
            for k, v in read_truth(b.frames, look).items():
                cols[k].append(v)
    return Sequences(**{k: np.concatenate(v) for k, v in cols.items()})


def read_truth(frames, look: Look) -> dict[str, np.ndarray]:
    """Colour index (B,), size (B,) and centroids (B, T, 2) read from frames (B, T, C, H, W)."""
    kw = {"channel_axis": -3}
    colors = readout.mean_color(frames, look.background, **kw)  # (B, T, C), NaN where no object shows
    seen = ~np.isnan(colors).all((1, 2))
    color = np.full(len(colors), -1)  # -1: no frame of the sequence shows an object
    color[seen] = look.color_index(np.nanmedian(colors[seen], axis=1))
    return {
        "color": color,
        "size": readout.area(frames, look.background, **kw).max(1),
        "centroids": readout.centroids(frames, look.background, **kw),
    }


def score_color(train: Sequences, test: Sequences) -> dict:
    """Colour accuracy from z_c and from z_t (every frame), and chance (the test share of the train majority)."""
    t = train.z.shape[1]
    majority = np.bincount(train.color).argmax()
    return {
        "from_content": _accuracy(train.content, train.color, test.content, test.color),
        "from_motion": _accuracy(
            _frames(train.z), np.repeat(train.color, t), _frames(test.z), np.repeat(test.color, t)
        ),
        "chance": float((test.color == majority).mean()),
        "n_colors": int(len(np.unique(train.color))),
    }


def score_size(train: Sequences, test: Sequences) -> dict:
    """R² of the size from z_c and from z_t (every frame), linear and cubic (``*_poly``)."""
    t = train.z.shape[1]
    motion = (_frames(train.z), np.repeat(train.size, t), _frames(test.z), np.repeat(test.size, t))
    content = (train.content, train.size, test.content, test.size)
    return {
        "from_content": _r2(*content),
        "from_motion": _r2(*motion),
        "from_content_poly": poly_r2(*content),
        "from_motion_poly": poly_r2(*motion),
        "mean_px": float(test.size.mean()),
    }


def score_state(ctx, train: Sequences, test: Sequences) -> dict:
    """Linear-probe R² of the state's moving targets (conserved energies left out) from z_t and from z_c."""
    (y_train, names), (y_test, _) = ctx.targets(train.states), ctx.targets(test.states)
    kinds = dict(zip(ctx.test.state_names, ctx.test.state_kinds))
    keep = [i for i, n in enumerate(names) if kinds.get(n) != "energy"]
    y_train, y_test, names = y_train[..., keep], y_test[..., keep], [names[i] for i in keep]
    held = {k: np.repeat(s.content[:, None], s.z.shape[1], 1) for k, s in (("train", train), ("test", test))}
    motion = linear_probe(train.z, y_train, test.z, y_test, names).r2
    content = linear_probe(held["train"], y_train, held["test"], y_test, names).r2
    return {
        "from_motion": motion,
        "from_content": content,
        "mean_from_motion": float(np.mean(list(motion.values()))),
        "mean_from_content": float(np.mean(list(content.values()))),
    }


def partners(color: np.ndarray) -> np.ndarray:
    """For each sequence i, the next sequence (cyclically) of another colour, or simply the next one where all
    share one colour (the swap then tests size and trajectory only); i itself in a split of one sequence."""
    n = len(color)
    out = (np.arange(n) + 1) % max(n, 1)
    for i in range(n):
        for step in range(1, n):
            if color[(i + step) % n] != color[i]:
                out[i] = (i + step) % n
                break
    return out


def swap_scores(ctx, test: Sequences, look: Look, partner: np.ndarray) -> dict:
    """The swap test over the scored test sequences, in batches (see ``swap_test``)."""
    rows, start = [], 0
    with torch.no_grad():
        for b in ctx.batches(ctx.test):
            idx = np.arange(start, start + b.frames.shape[0])
            content_b = torch.from_numpy(test.content[partner[idx]]).to(b.frames)
            rows.append(swap_test(ctx.model, b.frames, b.inputs, content_b, look))
            start = idx[-1] + 1
    got = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    return summarize_swap(got, test, partner)


def swap_test(model, frames, inputs, content_b: torch.Tensor, look: Look) -> dict[str, np.ndarray]:
    """Decode A's z_t (the posterior means of ``frames`` (B, T, C, H, W)) with B's z_c (B, K) and with A's own,
    and read both out: colour index (B,), centroids (B, T, 2), size (B,) of each."""
    post = model.infer(frames, None, inputs, sample=False)
    out = {}
    for name, zc in (("swapped", content_b), ("own", post.content.z)):
        decoded = model.likelihood.mean(model.decode(post.z, zc))
        for k, v in read_truth(decoded, look).items():
            out[f"{name}_{k}"] = v
    return out


def summarize_swap(got: dict[str, np.ndarray], test: Sequences, partner: np.ndarray) -> dict:
    """Scores of the swap test from the read-outs of ``swap_test`` and the truth of A and B = A's partner."""
    b, color, size = partner, test.color, test.size  # A's truth at [i], B's at [b[i]]
    moved = b != np.arange(len(b))
    if not moved.any():
        return {"pairs": 0}

    def to_a(centroids: np.ndarray) -> float:
        """Mean pixel distance of centroids (N, T, 2) to A's over the pairs."""
        return float(np.nanmean(np.linalg.norm(centroids - test.centroids, axis=-1)[moved]))

    return {
        "pairs": int(moved.sum()),
        "color_is_b": float((got["swapped_color"] == color[b])[moved].mean()),
        # the reconstructions' own colour: whether the decoder draws the colour at all (1 where it does)
        "color_own": float((got["own_color"] == color)[moved].mean()),
        "color_is_a": float((got["swapped_color"] == color)[moved].mean()),
        "centroid_error_px": to_a(got["swapped_centroids"]),
        "centroid_error_own_px": to_a(got["own_centroids"]),
        "a_to_b_distance_px": to_a(test.centroids[b]),
        "size_error_to_b": float(np.median(np.abs(got["swapped_size"] - size[b]) / size[b])),
        "size_a_to_b": float(np.median(np.abs(size - size[b]) / size[b])),
    }


def _frames(z: np.ndarray) -> np.ndarray:
    return z.reshape(-1, z.shape[-1])  # (N, T, D) -> (N·T, D)


def _accuracy(x_train, y_train, x_test, y_test) -> float:
    if len(np.unique(y_train)) < 2:
        return float((y_test == y_train[0]).mean())
    clf = LogisticRegression(max_iter=2000).fit(_standard(x_train, x_train), y_train)
    return float((clf.predict(_standard(x_test, x_train)) == y_test).mean())


def _r2(x_train, y_train, x_test, y_test) -> float:
    return float(r2_score(y_test, LinearRegression().fit(x_train, y_train).predict(x_test)))


def poly_r2(x_train, y_train, x_test, y_test, degree: int = 3) -> float:
    """Test R² of a ridge regression on the standardized inputs' monomials up to ``degree`` (penalty by
    leave-one-out cross-validation over 10⁻³..10³ on the train split)."""
    model = make_pipeline(
        StandardScaler(),
        PolynomialFeatures(degree),
        StandardScaler(),
        RidgeCV(alphas=np.logspace(-3, 3, 13)),
    )
    return float(r2_score(y_test, model.fit(x_train, y_train).predict(x_test)))


def _standard(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """x standardized by the mean and std of ``ref`` (a logistic regression's penalty then treats dims alike)."""
    return (x - ref.mean(0)) / (ref.std(0) + 1e-8)


def _spread(x: np.ndarray) -> float:
    return float(x.std() / max(abs(x.mean()), 1e-12))
