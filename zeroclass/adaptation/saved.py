"""An adapted classifier on disk: a normal model folder plus a marker file.

``save_adapted`` writes the (possibly fine-tuned) model with its own
``save_pretrained``/``save``, so any tool reads the folder as the model it
is, then ``zeroclass_adapter.json`` (what zeroclass needs: method,
templates, the hypotheses that have prototypes), ``prototypes.safetensors``
(embedding models) and a ``README.md`` card. Loading such a folder is
:mod:`zeroclass.backends.adapted`'s job, below the classifier.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from ..backends.adapted import ADAPTER_FILE, FORMAT, PROTOTYPES_FILE
from ..backends.base import Embedding
from ..backends.joint import JointEncoder
from ..backends.prototypes import PrototypeBackend

__all__ = ["ADAPTER_FILE", "PROTOTYPES_FILE", "save_adapted", "model_card"]

def save_adapted(folder: str | Path, backend: Any, info: dict[str, Any]) -> Path:
    """Write ``backend``'s model, the marker, the prototypes (if any) and the card into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stored = backend if isinstance(backend, PrototypeBackend) else None
    prototypes = stored.prototypes if stored is not None else {}
    partner = None
    if isinstance(backend, Embedding):
        # A SentenceTransformer, its own folder layout, tokenizer included (a joint encoder's first model).
        backend.model.save(str(folder))
        partner = backend.model.second_name if isinstance(backend.model, JointEncoder) else None
    else:
        backend.plain_model.save_pretrained(folder)  # NLI adaptation always gives a TorchNLIBackend
        backend.tokenizer.save_pretrained(folder)
    if prototypes:
        import numpy as np
        from safetensors.numpy import save_file

        save_file({"prototypes": np.stack(list(prototypes.values())).astype(np.float32)}, str(folder / PROTOTYPES_FILE))
    labels = stored.labels if stored is not None else {}
    config = {"format": FORMAT, **info, "prototype_hypotheses": list(prototypes),
              "prototype_labels": [labels.get(h, h) for h in prototypes],
              "gate_unseen_labels": stored.gate if stored is not None else False,
              "joint_with": partner,
              "date": datetime.date.today().isoformat()}
    (folder / ADAPTER_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(model_card(config), encoding="utf-8")
    return folder


def model_card(config: dict[str, Any]) -> str:
    """A short Markdown card: what it was adapted from, on what, how, and how well (when measured)."""
    counts = config.get("examples_per_label", {})
    lines = [
        "---",
        "library_name: zeroclass",
        "pipeline_tag: zero-shot-classification",
        "tags: [zeroclass, zero-shot-classification, few-shot]",
        "---",
        f"# Adapted from {config['base_model']}",
        "",
        f"Made with `zeroclass adapt` on {config['date']} by the **{config['method']}** method "
        f"from {config['examples']} labelled examples. It is still zero-shot: any label can be asked for; "
        "labels without examples are scored as by the base model.",
        *(["", f"The labels with examples are scored over {config['base_model']} and {config['joint_with']} "
               "reading each text side by side (zeroclass loads the second from its own package)."]
          if config.get("joint_with") else []),
        "",
        "```python",
        "import zeroclass",
        "classifier = zeroclass.pipeline(model=\"path/to/this/folder\")",
        f"classifier(\"...\", candidate_labels={list(counts)[:4]!r})",
        "```",
        "",
        "| label | examples |",
        "|---|---:|",
        *[f"| {label} | {n} |" for label, n in counts.items()],
        "",
        f"Templates: {', '.join(repr(t) for t in config['templates'])}.",
    ]
    evaluation = config.get("evaluation")
    if evaluation:
        lines += ["", f"Evaluated on {evaluation.get('data', 'held-out data')} ({evaluation.get('rows', '?')} texts):", "",
                  "| | accuracy | macro-F1 |", "|---|---:|---:|"]
        for name in ("before", "after"):
            if name in evaluation:
                s = evaluation[name]
                lines.append(f"| {name} | {s.get('accuracy', float('nan')):.4f} | {s.get('macro_f1', float('nan')):.4f} |")
    return "\n".join(lines) + "\n"
