"""The task table: what topic, stance and summary each read, learn, report and return.

Code asks this table instead of comparing task names: which prepared records a task trains on,
which column holds its target, whether its inputs are (target, text) pairs, its metrics and
primary metric, what the model card calls it and what `NewsAnalyzer` returns for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsdesk.errors import NewsdeskError


@dataclass(frozen=True)
class Task:
    """One task newsdesk trains and runs."""

    name: str
    """"topic", "stance" or "summary"; also the key of its result in `NewsAnalyzer.analyze`."""
    record_type: str
    """The prepared records it trains on: "article" or "stance" (see `data.records`)."""
    label_column: str
    """The record column holding what the model learns to give."""
    pair: bool
    """Inputs are (target, text) pairs rather than one text."""
    whole_article: bool
    """Inference reads the whole article (title-prefixed chunks), not a selection of it."""
    loss: str
    """The training objective, as the model card states it."""
    metrics: tuple[str, ...]
    """Headline metrics in `metrics.json`, the primary one first."""
    output: str
    """What `analyze` gives per article: "prediction" ({"label", "scores"}), "per_target"
    ({target: prediction}) or "text"."""
    pipeline_tag: str
    """The Hugging Face pipeline that reads the saved transformer."""
    description: str
    """One line for the model card."""

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]


TASKS: dict[str, Task] = {
    "topic": Task(
        name="topic", record_type="article", label_column="topic", pair=False, whole_article=True,
        loss="cross-entropy over the article's topic", metrics=("macro_f1", "accuracy"),
        output="prediction", pipeline_tag="text-classification",
        description="Which section a news article belongs to."),
    "stance": Task(
        name="stance", record_type="stance", label_column="label", pair=True, whole_article=False,
        loss="class-weighted cross-entropy over agree/disagree/discuss/unrelated",
        metrics=("fnc_score", "macro_f1", "accuracy"), output="per_target",
        pipeline_tag="text-classification",
        description="Whether an article agrees with, disagrees with, discusses or is unrelated "
                    "to a claim or headline."),
    "summary": Task(
        name="summary", record_type="article", label_column="summary", pair=False,
        whole_article=True, loss="per-sentence binary cross-entropy against the reference",
        metrics=("rouge2", "rouge1", "rougeLsum"), output="text",
        pipeline_tag="token-classification",
        description="A summary made of the article's own sentences, or generated."),
}
CLASSIFIER_TASKS = tuple(name for name, t in TASKS.items() if t.output != "text")


def get_task(name: str) -> Task:
    """The task called `name`; a clear error naming the known ones otherwise."""
    if name not in TASKS:
        raise NewsdeskError(f"unknown task {name!r}; expected one of {list(TASKS)}")
    return TASKS[name]
