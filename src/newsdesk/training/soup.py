"""Average the weights of runs fine-tuned from one start: a greedy "model soup".

Runs that start from the same pretrained weights and the same head, and differ only in which
examples they see and in what order, end in one basin of the loss; the average of their weights
is then one network that usually scores above each run, at no cost at inference (Wortsman et al.,
2022, "Model soups"). The greedy recipe keeps it honest: runs are taken best first (by a score
on held-out data) and one joins the average only if the average with it scores at least as well,
so the soup is never below the best single run on that data.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

State = dict[str, torch.Tensor]


def average(states: list[State]) -> State:
    """The element-wise mean of floating-point tensors; other tensors (integer buffers such as
    position ids) are taken from the first state."""
    first = states[0]
    if any(s.keys() != first.keys() for s in states[1:]):
        raise ValueError("the runs' weights do not share one architecture (different keys)")
    return {k: torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype)
            if v.is_floating_point() else v.clone() for k, v in first.items()}


def greedy_soup(states: list[State], score: Callable[[State], float]) -> tuple[State, dict]:
    """Average the runs that help, best single run first.

    Args:
        states: each run's weights (same keys and shapes).
        score: a held-out score of some weights; higher is better.

    Returns:
        (the soup's weights, a report: each run's score, the soup's score after each run was
        tried, the indices of the runs kept and the soup's score).
    """
    singles = [float(score(s)) for s in states]
    order = sorted(range(len(states)), key=lambda i: -singles[i])
    kept, best, soup = [order[0]], singles[order[0]], states[order[0]]
    tried = []
    for i in order[1:]:
        candidate = average([states[j] for j in kept + [i]])
        trial = float(score(candidate))
        tried.append({"added": i, "score": round(trial, 4), "kept": trial >= best})
        if trial >= best:
            kept, best, soup = kept + [i], trial, candidate
    report = {"runs": [round(s, 4) for s in singles], "tried": tried, "kept": sorted(kept),
              "score": round(best, 4)}
    return soup, report
