"""What the three recipes share: the `TrainingArguments` they build and how a run ends.

Every recipe ends the same way (`finish_run`): on rank 0 only, save the weights and tokenizer,
write the model-folder contract (`newsdesk.json`), the training log, the dev metrics and the
model card. Other ranks return at once with no metrics.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import TrainingArguments

from newsdesk.models.folder import FolderSettings, write_settings
from newsdesk.training.card import write_card
from newsdesk.training.distributed import is_main, multi_cpu
from newsdesk.training.evaluation import save_metrics
from newsdesk.training.metrics import plot_loss
from newsdesk.training.precision import precision_flags

CHECKPOINTS = "checkpoints"


def training_arguments(config, cls: type[TrainingArguments] = TrainingArguments,
                       **changes) -> TrainingArguments:
    """The arguments every Trainer-based recipe shares, from a training config.

    Args:
        config: a `ClassifierConfig` or `SummaryConfig`.
        cls: `TrainingArguments` or `Seq2SeqTrainingArguments`.
        **changes: recipe-specific arguments (evaluation and saving strategy, ...).
    """
    flags = precision_flags(config.precision)
    use_cpu = flags.pop("use_cpu", False) or multi_cpu()
    values = dict(
        output_dir=str(Path(config.output_dir) / CHECKPOINTS),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=getattr(config, "eval_batch_size", config.batch_size),
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # a value below 1 is a share of the steps
        logging_steps=config.logging_steps,
        seed=config.seed,
        report_to=config.report_to,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=use_cpu,
        **flags,
    )
    return cls(**{**values, **changes})


def finish_run(out: str | Path, settings: FolderSettings, save: Callable[[Path], None],
               evaluate: Callable[[Path], dict], log_history: list | dict, command: str,
               started: float, extra: dict | None = None) -> dict:
    """Write the model folder and its dev metrics (rank 0 only).

    Args:
        out: the model folder.
        settings: the folder contract to write.
        save: writes the weights and tokenizer into the folder.
        evaluate: the dev metrics of the saved folder.
        log_history: the training log (loss per logging step).
        command: the command line, for the model card.
        started: `time.perf_counter()` when the run started; training time is measured to here.
        extra: more figures to record beside the metrics (epochs run, ...).

    Returns:
        The dev metrics, with `train_seconds`, a retraining's included (empty on ranks other
        than 0).
    """
    if not is_main():
        return {}
    train_seconds = time.perf_counter() - started
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save(out)
    (out / "training_args.bin").unlink(missing_ok=True)  # pickled; newsdesk.json has it all
    write_settings(out, settings)
    (out / "train_log.json").write_text(json.dumps(log_history, indent=1) + "\n")
    plot_loss(log_history, out / "loss_curve.png", title=f"{settings.task} training loss")
    metrics = evaluate(out)
    metrics.update(extra or {})
    # a second training (`retrain`) runs inside `evaluate`, after the slice's fit
    metrics["train_seconds"] = round(train_seconds + metrics.get("retrained", {}).get("seconds", 0),
                                     1)
    save_metrics(out, metrics, "dev", settings.task_info)
    write_card(out, settings, metrics, command)
    shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    return metrics
