"""Model cards: a README.md in every model folder saying what it is and how it was made."""

from __future__ import annotations

import json
from pathlib import Path

from newsdesk.training.metrics import PARTS


def write_card(folder: Path, settings: dict, metrics: dict, command: str) -> None:
    """Write `folder/README.md`: data, labels, metrics and the exact command."""
    kind = settings.get("task", "model")
    lines = [
        f"# newsdesk {kind} model",
        "",
        f"Fine-tuned by newsdesk from `{settings.get('base_model')}`.",
        "",
        "## Data",
        f"- prepared folder: `{settings.get('data')}`",
        f"- training examples: {settings.get('train_examples')}",
        f"- splits: `{json.dumps(settings.get('data_manifest'))}`",
        "",
    ]
    if "labels" in settings:
        lines += ["## Labels", ", ".join(f"`{lab}`" for lab in settings["labels"]), ""]
    lines += ["## Dev metrics", ""]
    for key, value in metrics.items():
        if isinstance(value, float):
            lines.append(f"- {key}: {value:.4f}")
    for part, name in PARTS.items():
        if part in metrics:
            lines.append(f"- {name}: accuracy {metrics[part]['accuracy']:.4f}, "
                         f"macro_f1 {metrics[part]['macro_f1']:.4f}")
    if settings.get("lexical", "none") != "none":
        lines += ["", "Predictions average the transformer's probabilities with a TF-IDF logistic "
                  f"regression's (weight {settings['lexical_weight']}; `lexical.json`, "
                  "`lexical.safetensors`). newsdesk reads both; `transformers.pipeline` reads the "
                  "transformer alone (the \"transformer alone\" figures above)."]
    if "per_class" in metrics:
        lines += ["", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for lab, c in metrics["per_class"].items():
            lines.append(f"| {lab} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | "
                         f"{c['support']} |")
    lines += ["", "## Command", "", "```", command or "(called from Python)", "```", "",
              "## Settings", "", "```json", json.dumps(settings, indent=2), "```", ""]
    (Path(folder) / "README.md").write_text("\n".join(lines))
