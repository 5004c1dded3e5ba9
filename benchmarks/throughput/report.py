"""Benchmark output: one markdown table, the JSON of every figure, and the label-count plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COLUMNS = (
    ("workload", "workload", "{}"),
    ("system", "system", "{}"),
    ("pairs_per_s", "pairs/s", "{:.1f}"),
    ("texts_per_s", "texts/s", "{:.2f}"),
    ("speedup", "x best competitor", "{:.2f}"),
    ("peer_speedup", "x peer", "{:.2f}"),
    ("max_abs_diff", "max abs Δscore", "{:.1e}"),
    ("top1_agreement", "top-1 agree", "{:.1%}"),
    ("top1_agreement_clear", "top-1 agree, margin > 0.01", "{:.1%}"),
    ("peak_mib", "peak MiB", "{:.0f}"),
    ("gflops", "GFLOP/s", "{:.0f}"),
    ("ceiling_fraction", "of ceiling", "{:.0%}"),
)


def markdown(rows: list[dict[str, Any]], header: dict[str, Any]) -> str:
    """The side-by-side table, preceded by the run's setup and the measured ceiling."""
    ceiling = ", ".join(f"{k} {v / 1e9:,.0f} G/s" for k, v in header["ceiling"].items())
    lines = [
        f"model `{header['model']}` on {header['device']}, {header['threads']} threads; "
        f"matmul ceiling: {ceiling}; reference: transformers fp32; "
        "x peer: against the competitor of the same precision",
        "",
        "| " + " | ".join(title for _, title, _ in COLUMNS) + " |",
        "|" + "|".join("---" if key in ("workload", "system") else "---:" for key, _, _ in COLUMNS) + "|",
    ]
    for row in rows:
        cells = [fmt.format(row[key]) if row.get(key) is not None else "n/a" for key, _, fmt in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write(rows: list[dict[str, Any]], header: dict[str, Any], out: Path, stem: str) -> list[Path]:
    """``stem``.json, ``stem``.md and (with two or more label counts) ``stem``.png under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / f"{stem}.json", out / f"{stem}.md"]
    written[0].write_text(json.dumps({**header, "rows": rows}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    written[1].write_text(markdown(rows, header), encoding="utf-8")
    png = out / f"{stem}.png"
    if plot(rows, png, header):
        written.append(png)
    return written


def plot(rows: list[dict[str, Any]], path: Path, header: dict[str, Any]) -> bool:
    """texts/s against label count (AG News workloads), one line per system; False if nothing to draw."""
    sweep = [r for r in rows if r["workload"].startswith("agnews-")]
    if len({r["labels"] for r in sweep}) < 2:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for system in dict.fromkeys(r["system"] for r in sweep):
        points = sorted((r["labels"], r["texts_per_s"]) for r in sweep if r["system"] == system)
        ax.plot(*zip(*points), marker="o", label=system)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("candidate labels per text")
    ax.set_ylabel("texts / s")
    ax.set_title(f"AG News, {header['model']} on {header['device']}, {header['threads']} threads")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
