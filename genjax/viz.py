"""Figures as PNG files: image grids, reconstructions, latent scatters, training curves.

Built on `matplotlib.figure.Figure` directly (no pyplot state, no display needed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def _save(fig: Figure, path: str) -> str:
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def _as_image(x: np.ndarray, image_shape: tuple[int, int, int] | None) -> np.ndarray:
    """One example `[D]` as `[H, W]` or `[H, W, 3]`; non-images become a `[1, D]` strip."""
    if image_shape is None:
        return np.asarray(x).reshape(1, -1)
    image = np.asarray(x).reshape(image_shape)
    return image[..., 0] if image_shape[-1] == 1 else np.clip(image, 0, 1)


def image_rows(
    rows: Sequence[np.ndarray],
    row_titles: Sequence[str],
    path: str,
    *,
    image_shape: tuple[int, int, int] | None,
    title: str | None = None,
) -> str:
    """A grid whose row `r` shows the examples `rows[r] [N, D]` side by side."""
    n = max(len(r) for r in rows)
    fig = Figure(figsize=(1.0 * n, 1.1 * len(rows) + 0.4))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (examples, name) in enumerate(zip(rows, row_titles, strict=True)):
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(examples):
                ax.imshow(
                    _as_image(examples[c], image_shape),
                    cmap="gray",
                    vmin=0,
                    vmax=1,
                    aspect="auto" if image_shape is None else "equal",
                )
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(name, fontsize=9)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def image_grid(
    images: np.ndarray, path: str, *, image_shape, columns: int = 10, title: str | None = None
) -> str:
    """`images [N, D]` laid out `columns` to a row."""
    rows = [images[i : i + columns] for i in range(0, len(images), columns)]
    return image_rows(rows, [""] * len(rows), path, image_shape=image_shape, title=title)


def training_curves(
    metrics: Sequence[dict],
    keys: Sequence[str],
    path: str,
    *,
    title: str | None = None,
    log_scale: bool = False,
) -> str:
    """Each of `keys` against `step` from metrics.jsonl rows (population rows: one line per
    member)."""
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    steps = [m["step"] for m in metrics]
    for key in keys:
        values = np.asarray([m[key] for m in metrics if key in m], dtype=float)
        if values.size == 0:
            continue
        ax.plot(steps[: len(values)], values, label=key)
    ax.set_xlabel("step")
    if log_scale:
        ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return _save(fig, path)


def latent_scatter(
    points: np.ndarray,
    labels: np.ndarray | None,
    path: str,
    *,
    title: str,
    axis_labels: tuple[str, str] = ("1", "2"),
) -> str:
    """A 2-D scatter of `points [N, 2]`, coloured by integer `labels` when given."""
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    colours = None if labels is None else np.asarray(labels)
    sc = ax.scatter(points[:, 0], points[:, 1], c=colours, cmap="tab10", s=8, alpha=0.8)
    if labels is not None:
        fig.colorbar(sc, ax=ax, ticks=np.unique(labels), label="label")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title)
    return _save(fig, path)


def embed_2d(codes: np.ndarray, method: str, *, seed: int = 0) -> np.ndarray:
    """`codes [N, d] -> [N, 2]` by "pca" or "tsne" (scikit-learn); d <= 2 is padded."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    codes = np.asarray(codes, dtype=np.float64).reshape(len(codes), -1)
    if codes.shape[1] < 2:
        return np.pad(codes, ((0, 0), (0, 2 - codes.shape[1])))
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(codes)
    if method == "tsne":
        perplexity = min(30.0, (len(codes) - 1) / 3)
        return TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=seed
        ).fit_transform(codes)
    raise ValueError(f"unknown embedding {method!r}; choose pca or tsne")
