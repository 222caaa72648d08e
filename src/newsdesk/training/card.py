"""Model cards: a Hub-readable README.md in every model folder (huggingface_hub's `ModelCard`),
with YAML metadata (library, pipeline, base model, tags, licence, evaluation results), what the
model is, how to use it with newsdesk and with plain transformers, its data and dev metrics.
No local paths: base models and data are named, not located.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from newsdesk.models.folder import ClassifierSettings, FolderSettings
from newsdesk.models.loading import public_name
from newsdesk.training.metrics import (
    MULTI_LABEL_METRICS,
    PARTS,
    describe_calibration,
    describe_stories,
)

DATASETS = {"bbc": "BBC News Summary", "fnc1": "FNC-1 (Fake News Challenge stage 1)",
            "table": "a user's table"}
DATASET_IDS = {"bbc": "bbc-news-summary", "fnc1": "fnc-1"}
"""The corpora's names in the card's `datasets` metadata (not Hub repo ids: neither is hosted
there under one official id)."""
_PATH = re.compile(r"(?<![\w.-])(?:~|\.{1,2})?(?:/[^\s/]+)+/?")


def card_metrics(metrics: dict) -> dict[str, float]:
    """The headline figures: top-level numbers, and ROUGE per system as `system_rouge1` etc."""
    out = {k: float(v) for k, v in metrics.items() if isinstance(v, float)}
    for name, m in metrics.items():
        if isinstance(m, dict) and "rouge1" in m:
            out.update({f"{name}_{k}": float(v) for k, v in m.items()})
    return out


def without_paths(text: str) -> str:
    """`text` with every absolute or relative path replaced by its last part."""
    return _PATH.sub(lambda m: Path(m.group(0).rstrip("/")).name, text)


def what_it_does(settings: FolderSettings) -> tuple[str, str]:
    """The card's opening line and the loss trained on; a multi-label topic model has its own."""
    if getattr(settings, "multi_label", False):
        return ("Which subjects a news article is about: any number of labels, each with a "
                "decision threshold of its own.", "binary cross-entropy per label")
    return settings.task_info.description, settings.task_info.loss


def usage(settings: FolderSettings) -> str:
    task = settings.task_info
    lines = ["```python", "from newsdesk import NewsAnalyzer", "",
             f'analyzer = NewsAnalyzer.from_pretrained({task.name}="MODEL_DIR")']
    if task.pair:
        lines.append('analyzer.analyze("Article text ...", targets=["A claim to check"])')
    else:
        lines.append('analyzer.analyze({"title": "...", "text": "Article text ..."})')
    lines.append("```")
    if isinstance(settings, ClassifierSettings):
        pair = ', "text_pair": "Article text ..."' if task.pair else ""
        first = '"A claim to check"' if task.pair else '"Article text ..."'
        lines += ["", "With plain transformers (the transformer alone, first 512 tokens):", "",
                  "```python", "from transformers import pipeline", "",
                  'classify = pipeline("text-classification", model="MODEL_DIR")',
                  f'classify({{"text": {first}{pair}}})' if task.pair else
                  f"classify({first}, truncation=True"
                  + (", top_k=None)  # every label's sigmoid score" if settings.multi_label
                     else ")"), "```"]
    return "\n".join(lines)


def write_card(folder: Path, settings: FolderSettings, metrics: dict, command: str) -> None:
    """Write `folder/README.md` for the Hub: metadata, usage, data, labels, metrics, command."""
    task = settings.task_info
    source = settings.data_source or "table"
    figures = card_metrics(metrics)
    classifier = isinstance(settings, ClassifierSettings)
    results = [EvalResult(task_type=task.pipeline_tag if classifier else "summarization",
                          dataset_type=source, dataset_name=f"{DATASETS.get(source, source)}, dev",
                          dataset_split="dev", metric_type=name, metric_value=figures[key])
               for name in (MULTI_LABEL_METRICS if getattr(settings, "multi_label", False)
                            else task.metrics)
               for key in ([name] if classifier else [f"model_{name}"]) if key in figures]
    data = ModelCardData(
        language="en", license="apache-2.0",
        library_name="transformers", pipeline_tag=task.pipeline_tag,
        base_model=public_name(settings.base_model),
        datasets=[DATASET_IDS[source]] if source in DATASET_IDS else None,
        tags=["newsdesk", task.name, "news", *(["extractive-summarization"] if not classifier
                                                else [])],
        model_name=f"newsdesk {task.name} model", eval_results=results or None)
    description, loss = what_it_does(settings)
    lines = [f"# newsdesk {task.name} model", "", description, "",
             f"Fine-tuned by newsdesk {settings.newsdesk_version} from "
             f"`{public_name(settings.base_model)}` ({loss}).", "",
             "## How to use", "", usage(settings), "",
             "## Data", "",
             f"- {DATASETS.get(source, source)}, prepared by `newsdesk data prepare {source}`",
             f"- training examples: {settings.train_examples}",
             f"- splits: `{json.dumps(settings.data_manifest)}`", ""]
    if classifier:
        lines += ["## Labels", "", ", ".join(f"`{lab}`" for lab in settings.labels), ""]
    lines += ["## Dev metrics", ""]
    lines += [f"- {key}: {value:.4f}" for key, value in figures.items()]
    unit = "stories" if metrics.get("interval_95_resamples") == "story" else "examples"
    for key, (low, high) in metrics.get("interval_95", {}).items():
        lines.append(f"- {key}, 95% bootstrap interval, resampling the dev {unit}: [{low:.4f}, "
                     f"{high:.4f}]")
    if "without_largest" in metrics.get("stories", {}):
        lines.append(f"- dev: {describe_stories(metrics['stories'])}")
    for part, name in PARTS.items():
        if part in metrics:
            lines.append(f"- {name}: " + ", ".join(f"{k} {v:.4f}"
                                                   for k, v in metrics[part].items()))
    if "calibration" in metrics:
        lines += ["", f"Confidence: {describe_calibration(metrics['calibration'])}. Scores are "
                  "temperature-scaled (`temperature` in `newsdesk.json`; labels are unchanged)"
                  + (f"; below {settings.abstain_below} newsdesk returns no label, with the top "
                     "candidates." if classifier and settings.abstain_below else ".")]
    if classifier and settings.fitted_on == "validation":
        lines += ["", f"The blend, the temperature and any thresholds were fitted on a validation "
                  f"slice held out of training ({metrics.get('validation', {}).get('examples')} "
                  "examples), never on dev."]
        again = metrics.get("retrained")
        if again and "skipped" in again:
            lines[-1] += f" The transformer was not trained again (retrain): {again['skipped']}."
        elif again:
            lines[-1] += (f" Then the transformer was trained again from the start on the "
                          f"training part and the slice together ({again['examples']} examples, "
                          f"{again['epochs']:g} epoch{'' if again['epochs'] == 1 else 's'}, "
                          "the number the slice kept); the "
                          "fitted choices were kept, and the validation figures are the first "
                          "transformer's (its log is `train_log.json`, the second's "
                          "`retrain_log.json`).")
            before = again.get("first_transformer")
            if before:
                lines[-1] += " With the first transformer, dev scored " + ", ".join(
                    f"{k.replace('_', ' ')} {v:.4f}" for k, v in before.items()) + "."
    soup = metrics.get("soup")
    if soup:
        lines += ["", f"The weights are the average of {len(soup['kept'])} of "
                  f"{len(soup['runs'])} runs trained from the same start on differently "
                  f"resampled and ordered data, joined best first while the average's "
                  f"{soup['metric']} on the validation slice did not fall (runs alone "
                  f"{', '.join(f'{r:.4f}' for r in soup['runs'])}; average {soup['score']:.4f})."]
    if classifier and settings.lexical != "none" and task.pair:
        lines += ["", "Whether a claim and a body are related is decided from claim-body word "
                  "overlap (TF-IDF cosine with the body and its best sentence, shared content "
                  "words) and the transformer's unrelated odds; the transformer splits the "
                  "related classes; per-class offsets set where rare classes start, reweighing only how "
                  "the related classes share their probability, the \"disagree\" offset only "
                  "where the body holds refuting words such as hoax, fake or debunked, the "
                  "\"discuss\" offset only where it holds no hedging words such as reportedly "
                  "or allegedly (`pairs.json`). newsdesk reads both; "
                  "`transformers.pipeline` reads the transformer alone (the \"transformer "
                  "alone\" figures above)."]
    elif classifier and settings.lexical != "none":
        chars = settings.training.get("lexical_chars")
        features = " over words and character 3-5-grams" if chars else ""
        averaged = "log-odds" if settings.blend_space == "log_odds" else "probabilities"
        lines += ["", f"Predictions average the transformer's {averaged} with a TF-IDF logistic "
                  f"regression's{features} (weight {settings.lexical_weight}; `lexical.json`, "
                  "`lexical.safetensors`). newsdesk reads both; `transformers.pipeline` reads the "
                  "transformer alone (the \"transformer alone\" figures above)."]
        if settings.training.get("lexical_embedding"):
            lines[-1] += (" The regression also reads the pretrained encoder's frozen, mean-pooled "
                          "embedding of each article's first chunk; that encoder is saved in "
                          "`embedder/`.")
        refit = metrics.get("validation", {}).get("lexical_refit_on")
        if refit:
            lines[-1] += f" Once the slice had chosen, the regression was refitted on {refit}."
    if not classifier:
        lines += ["", "The folder is a token-classification model with one label: a sentence's "
                  "score is the mean of its tokens' logits, and newsdesk picks the best-scored "
                  "sentences under the length budget. `AutoModelForTokenClassification` loads it "
                  "whole; the sentence splitting, scoring and selection are newsdesk's."]
    if "per_class" in metrics:
        lines += ["", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for lab, c in metrics["per_class"].items():
            lines.append(f"| {lab} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | "
                         f"{c['support']} |")
    record = settings.to_json()
    record["base_model"] = public_name(settings.base_model)
    record["training"] = {k: v for k, v in record["training"].items()
                          if k not in ("data", "output_dir", "model")}
    lines += ["", "## Command", "", "```", without_paths(command) or "(called from Python)", "```"]
    if metrics.get("refitted"):  # `newsdesk refit`: the fit after training redone later
        lines += ["", "What is fitted after training (blend, word model, offsets, temperature) "
                  "was redone on the same validation slice by a later newsdesk, without "
                  "training the transformer again:", "", "```",
                  without_paths(metrics["refitted"]), "```"]
    lines += ["", "## Settings", "", "```json", json.dumps(record, indent=2), "```", ""]
    ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n\n{{ body }}",
                            body="\n".join(lines)).save(Path(folder) / "README.md")
