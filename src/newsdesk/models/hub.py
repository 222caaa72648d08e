"""Publishing a model folder on the Hugging Face Hub (loading one by its repo id is
`models.loading.local_folder`)."""

from __future__ import annotations

from pathlib import Path

from newsdesk.errors import DataError
from newsdesk.models.folder import read_settings
from newsdesk.models.loading import check_model_folder

LEFT_OUT = ["checkpoints/*", "eval-*/*", "*.lock", "*.tmp", "training_args.bin"]


def push(folder: str | Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Upload a newsdesk model folder, with its model card, to the Hub repo `repo_id`.

    Args:
        folder: a folder written by `newsdesk train`.
        repo_id: "owner/name"; created if it does not exist.
        private: create the repo as private.
        token: a Hub token (default: the one `huggingface-cli login` saved, or HF_TOKEN).

    Returns:
        The URL of the commit.
    """
    from huggingface_hub import HfApi

    folder = Path(folder)
    check_model_folder(folder)
    read_settings(folder)  # a newsdesk folder whose contract this version reads
    if not (folder / "README.md").is_file():
        raise DataError(f"{folder}: no model card (README.md); retrain or evaluate to write one")
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                               ignore_patterns=LEFT_OUT,
                               commit_message="Upload a newsdesk model folder")
    return str(getattr(commit, "commit_url", commit))
