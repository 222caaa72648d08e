"""Model cards: a README.md in every model folder saying what it is and how it was made."""

from __future__ import annotations

import json
from pathlib import Path

from newsdesk.models.folder import ClassifierSettings, FolderSettings
from newsdesk.training.metrics import PARTS


def card_metrics(metrics: dict) -> dict[str, float]:
    """The headline figures: top-level numbers, and ROUGE per system as `system_rouge1` etc."""
    out = {k: float(v) for k, v in metrics.items() if isinstance(v, float)}
    for name, m in metrics.items():
        if isinstance(m, dict) and "rouge1" in m:
            out.update({f"{name}_{k}": float(v) for k, v in m.items()})
    return out


def write_card(folder: Path, settings: FolderSettings, metrics: dict, command: str) -> None:
    """Write `folder/README.md`: task, data, labels, metrics and the exact command."""
    task = settings.task_info
    lines = [
        f"# newsdesk {task.name} model",
        "",
        task.description,
        "",
        f"Fine-tuned by newsdesk {settings.newsdesk_version} from `{settings.base_model}` "
        f"({task.loss}).",
        "",
        "## Data",
        f"- prepared folder: `{settings.training.get('data')}`",
        f"- training examples: {settings.train_examples}",
        f"- splits: `{json.dumps(settings.data_manifest)}`",
        "",
    ]
    if isinstance(settings, ClassifierSettings):
        lines += ["## Labels", ", ".join(f"`{lab}`" for lab in settings.labels), ""]
    lines += ["## Dev metrics", ""]
    for key, value in card_metrics(metrics).items():
        lines.append(f"- {key}: {value:.4f}")
    for part, name in PARTS.items():
        if part in metrics:
            lines.append(f"- {name}: accuracy {metrics[part]['accuracy']:.4f}, "
                         f"macro_f1 {metrics[part]['macro_f1']:.4f}")
    if isinstance(settings, ClassifierSettings) and settings.lexical != "none":
        lines += ["", "Predictions average the transformer's probabilities with a TF-IDF logistic "
                  f"regression's (weight {settings.lexical_weight}; `lexical.json`, "
                  "`lexical.safetensors`). newsdesk reads both; `transformers.pipeline` reads the "
                  "transformer alone (the \"transformer alone\" figures above)."]
    if "per_class" in metrics:
        lines += ["", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for lab, c in metrics["per_class"].items():
            lines.append(f"| {lab} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | "
                         f"{c['support']} |")
    lines += ["", "## Command", "", "```", command or "(called from Python)", "```", "",
              "## Settings", "", "```json", json.dumps(settings.to_json(), indent=2), "```", ""]
    (Path(folder) / "README.md").write_text("\n".join(lines))
