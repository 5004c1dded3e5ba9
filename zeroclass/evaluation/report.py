"""What an evaluation found, and every way it is shown: JSON, Markdown, files, terminal, notebook."""

from __future__ import annotations

import base64
import html
import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import LabelStats
from .plots import plot_confusion, plot_reliability, plot_thresholds

__all__ = ["EvaluationReport"]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


@dataclass
class EvaluationReport:
    """The metrics of one model on one labelled data set, and its worst mistakes.

    ``summary`` holds the headline numbers (single-label: accuracy and
    macro-F1; multi-label: micro-/macro-F1 and exact match at 0.5 and at
    the best threshold; both: ECE); ``config`` says exactly what was run.
    """

    config: dict[str, Any]
    summary: dict[str, float]
    per_label: list[LabelStats]
    reliability_bins: list[dict]
    errors: list[dict]
    confusion: np.ndarray | None = None
    thresholds: list[dict] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def multi_label(self) -> bool:
        return bool(self.config["multi_label"])

    def to_dict(self) -> dict[str, Any]:
        """Everything but the mistakes, as plain JSON-ready values (``report.json``)."""
        out: dict[str, Any] = {
            "config": self.config,
            "summary": self.summary,
            "per_label": [asdict(s) for s in self.per_label],
            "reliability": self.reliability_bins,
        }
        if self.confusion is not None:
            out["confusion"] = {"labels": self.config["labels"], "matrix": self.confusion.tolist()}
        if self.thresholds is not None:
            out["thresholds"] = self.thresholds
        if self.warnings:
            out["warnings"] = self.warnings
        return out

    def _per_label_rows(self) -> list[list[str]]:
        return [[s.label, _fmt(s.precision), _fmt(s.recall), _fmt(s.f1), str(s.support)] for s in self.per_label]

    def to_markdown(self) -> str:
        """``report.md``: configuration, headline numbers, per-label table."""
        lines = ["# Evaluation report", ""]
        lines += [f"- {key}: `{value}`" for key, value in self.config.items() if key != "labels"]
        lines += ["", "| metric | value |", "|---|---:|"]
        lines += [f"| {key} | {_fmt(value) if isinstance(value, float) else value} |" for key, value in self.summary.items()]
        lines += ["", "| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        lines += ["| " + " | ".join(row) + " |" for row in self._per_label_rows()]
        lines += [""] + [f"> {w}" for w in self.warnings]
        return "\n".join(lines).rstrip() + "\n"

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write report.json, report.md, errors.jsonl and the PNGs into ``out_dir``; return their paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = self._plots(out)
        (out / "report.json").write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        (out / "report.md").write_text(self.to_markdown(), encoding="utf-8")
        with open(out / "errors.jsonl", "w", encoding="utf-8") as f:
            for error in self.errors:
                f.write(json.dumps(error, ensure_ascii=False) + "\n")
        return [out / "report.json", out / "report.md", out / "errors.jsonl", *written]

    def _plots(self, out: Path) -> list[Path]:
        paths = []
        if self.confusion is not None:
            warning = plot_confusion(self.config["labels"], self.confusion, out / "confusion.png")
            if warning and warning not in self.warnings:
                self.warnings.append(warning)
            paths.append(out / "confusion.png")
        what = "observed frequency" if self.multi_label else "accuracy"
        plot_reliability(self.reliability_bins, self.summary["ece"], out / "reliability.png", what)
        paths.append(out / "reliability.png")
        if self.thresholds is not None:
            plot_thresholds(self.thresholds, self.summary["best_threshold"], out / "thresholds.png")
            paths.append(out / "thresholds.png")
        return paths

    def print(self, console: Any = None) -> None:
        """Headline numbers and the per-label table, as rich tables in the terminal."""
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        # Labels, paths and model names are shown as Text, never parsed as rich
        # markup: a label "[red]" or "see [/bold] now" must print as written.
        console = console or Console()
        # A title line of its own: as a table title it would wrap to the narrow table's width.
        console.print(Text.assemble((str(self.config["model"]), "bold"), f" on {self.config['data']} ({self.config['rows']} texts)"))
        head = Table()
        head.add_column("metric")
        head.add_column("value", justify="right")
        for key, value in self.summary.items():
            head.add_row(key, _fmt(value) if isinstance(value, float) else str(value))
        console.print(head)
        table = Table(title="per label", title_justify="left")
        for name in ("label", "precision", "recall", "F1", "support"):
            table.add_column(name, justify="left" if name == "label" else "right")
        for row in self._per_label_rows():
            table.add_row(*map(Text, row))
        console.print(table)
        for warning in self.warnings:
            console.print(Text.assemble(("note:", "yellow"), f" {warning}"))

    def _repr_html_(self) -> str:
        """Jupyter: the headline table, the per-label table and the plots inline."""
        with tempfile.TemporaryDirectory() as tmp:
            images = [
                f'<img src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}" '
                f'style="max-width:32em;display:inline-block;margin:4px">'
                for p in self._plots(Path(tmp))
            ]
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{_fmt(v) if isinstance(v, float) else html.escape(str(v))}</td></tr>"
            for k, v in self.summary.items()
        )
        per_label = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self._per_label_rows()
        )
        return (
            f"<div><b>{html.escape(str(self.config['model']))}</b> on {html.escape(str(self.config['data']))} "
            f"({self.config['rows']} texts)<table>{rows}</table>"
            "<details><summary>per label</summary><table><tr><th>label</th><th>precision</th><th>recall</th>"
            f"<th>F1</th><th>support</th></tr>{per_label}</table></details>{''.join(images)}</div>"
        )
