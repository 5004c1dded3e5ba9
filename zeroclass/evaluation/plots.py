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

__all__ = ["cjk_font", "confusion_layout", "plot_confusion", "plot_reliability", "plot_thresholds", "CJK_FONT_HINT"]

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


#: Inches per confusion-matrix cell: roomy for a few labels, dense but legible for many.
_CELL_INCHES = 0.5
_MIN_CELL_INCHES = 0.26
#: Most labels whose cells still get their count written in them.
_MAX_COUNTED = 40


def confusion_layout(labels: list[str]) -> dict[str, float]:
    """Figure size and font sizes for a confusion matrix of these labels.

    Everything scales with the label count: cells shrink from half an inch
    towards a quarter, tick and count fonts from 10 and 8 points towards 6
    and 5 (a 6-point name still fits a quarter-inch row), and the margins
    grow with the longest name, so 77 labels stay readable.
    """
    n = len(labels)
    cell = max(_MIN_CELL_INCHES, min(_CELL_INCHES, 10.0 / max(n, 1)))
    tick = max(6.0, min(10.0, cell * 72 * 0.42))
    longest = max((len(label) for label in labels), default=1)
    margin = min(4.0, 0.6 + longest * tick * 0.55 / 72)  # the names' width, in inches
    grid = max(3.0, cell * n)
    return {
        "width": grid + margin + 1.6,  # + colour bar
        "height": grid + margin + 0.8,  # + title
        "tick": tick,
        "count": max(5.0, min(8.0, tick - 1)),
        "title": max(10.0, min(14.0, grid * 0.6)),
    }


def plot_confusion(labels: list[str], matrix: np.ndarray, path: Path) -> str | None:
    """Row-normalised confusion matrix (colour = share of the gold label), with counts in cells up to 40 labels.

    Sized by the number of labels (see :func:`confusion_layout`). Returns a
    warning when the label names cannot be drawn.
    """
    plt = _pyplot()
    n = len(labels)
    font, warning = _font_for(labels)
    layout = confusion_layout(labels)
    fig, ax = plt.subplots(figsize=(layout["width"], layout["height"]))
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape, dtype=float), where=totals > 0)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the gold label's texts")
    ax.set_xticks(range(n), labels, rotation=90, fontsize=layout["tick"], **font)
    ax.set_yticks(range(n), labels, fontsize=layout["tick"], **font)
    ax.set_xlabel("predicted", fontsize=layout["title"] * 0.8)
    ax.set_ylabel("gold", fontsize=layout["title"] * 0.8)
    if n <= _MAX_COUNTED:
        for g in range(n):
            for p in range(n):
                if matrix[g, p]:
                    ax.text(p, g, str(matrix[g, p]), ha="center", va="center", fontsize=layout["count"],
                            color="white" if share[g, p] > 0.5 else "black")
    ax.set_title("Confusion matrix" + (f"\n({warning})" if warning else ""), fontsize=layout["title"])
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
