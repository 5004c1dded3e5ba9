"""The report's figures: confusion matrix, reliability diagram, threshold sweep.

Drawn with matplotlib's Agg backend (no display needed). Label names may be
Chinese, which matplotlib's bundled DejaVu fonts cannot draw (they come out
as empty boxes), so a font with CJK glyphs is picked from the installed ones
when a label needs it; with none installed, the figure says how to get one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..hypotheses import looks_chinese

__all__ = ["cjk_font", "plot_confusion", "plot_reliability", "plot_thresholds", "CJK_FONT_HINT"]

#: Installed fonts with CJK glyphs, best first (Debian: fonts-noto-cjk, fonts-wqy-*).
_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)

CJK_FONT_HINT = (
    "no font with Chinese glyphs is installed, so Chinese label names show as boxes: "
    "install one (Debian/Ubuntu: apt-get install fonts-noto-cjk; macOS and Windows ship one)"
)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed font with CJK glyphs, or ``None``."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in _CJK_FAMILIES if family in installed), None)


def _font_for(labels: list[str]) -> tuple[dict[str, Any], str | None]:
    """Text properties that can draw ``labels``, and a warning when none can."""
    if not any(looks_chinese(label) for label in labels):
        return {}, None
    family = cjk_font()
    return ({"fontfamily": family}, None) if family else ({}, CJK_FONT_HINT)


def plot_confusion(labels: list[str], matrix: np.ndarray, path: Path) -> str | None:
    """Row-normalised confusion matrix (colour = share of the gold label), counts written when few labels.

    Sized by the number of labels so 77 label names stay legible. Returns a
    warning when the label names cannot be drawn.
    """
    plt = _pyplot()
    n = len(labels)
    font, warning = _font_for(labels)
    side = max(5.0, 0.22 * n + 3.0)
    tick_size = 10 if n <= 20 else max(5, 9 - n // 25)
    fig, ax = plt.subplots(figsize=(side + 1.5, side))
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape, dtype=float), where=totals > 0)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the gold label's texts")
    ax.set_xticks(range(n), labels, rotation=90, fontsize=tick_size, **font)
    ax.set_yticks(range(n), labels, fontsize=tick_size, **font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    if n <= 20:
        for g in range(n):
            for p in range(n):
                if matrix[g, p]:
                    ax.text(p, g, str(matrix[g, p]), ha="center", va="center", fontsize=8,
                            color="white" if share[g, p] > 0.5 else "black")
    ax.set_title("Confusion matrix" + (f"\n({warning})" if warning else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return warning


def plot_reliability(bins: list[dict], ece: float, path: Path, what: str) -> None:
    """Reliability diagram: observed frequency against mean confidence per bin."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    used = [b for b in bins if b["count"]]
    centres = [(b["low"] + b["high"]) / 2 for b in used]
    ax.bar(centres, [b["accuracy"] for b in used], width=0.1, edgecolor="black", alpha=0.7, label=what)
    ax.plot([b["confidence"] for b in used], [b["accuracy"] for b in used], "o", color="darkred", label="mean confidence")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel(what)
    ax.set_title(f"Reliability (ECE {ece:.3f})")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_thresholds(sweep: list[dict], best: float, path: Path) -> None:
    """Micro-F1, macro-F1 and exact match against the multi-label threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [row["threshold"] for row in sweep]
    for key in ("micro_f1", "macro_f1", "exact_match"):
        ax.plot(xs, [row[key] for row in sweep], marker="o", markersize=3, label=key.replace("_", "-"))
    ax.axvline(best, color="grey", linestyle="--", label=f"best micro-F1 at {best:.2f}")
    ax.set_xlabel("threshold (a label fits when its score is above it)")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
