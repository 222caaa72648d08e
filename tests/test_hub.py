"""Model folders by Hub id (from a cache the test fills, no network) and `newsdesk push`
(up to the upload call, with the Hub stubbed out)."""

from __future__ import annotations

import shutil

import pytest

from newsdesk.cli import main
from newsdesk.errors import DataError
from newsdesk.inference import NewsAnalyzer


@pytest.fixture
def hub_cache(tmp_path, monkeypatch, tiny_models):
    """A Hugging Face cache holding newsdesk/tiny-topic at one commit, and the hub offline."""
    import huggingface_hub.constants as constants

    cache = tmp_path / "hub"
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / "models--newsdesk--tiny-topic"
    shutil.copytree(tiny_models["topic"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def test_a_folder_loads_by_hub_id(hub_cache, tiny_models):
    text = "Profit rose at the bank and shares fell."
    by_id = NewsAnalyzer.from_pretrained(topic="newsdesk/tiny-topic", device="cpu",
                                         precision="fp32")
    by_path = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], device="cpu",
                                           precision="fp32")
    assert by_id.analyze(text)["topic"] == by_path.analyze(text)["topic"]
    with pytest.raises(DataError, match="no such local folder, and the Hub repo could not be"):
        NewsAnalyzer.from_pretrained(topic="newsdesk/not-cached", device="cpu")


def test_push_uploads_the_folder_with_its_card(tmp_path, monkeypatch, tiny_models, capsys):
    import huggingface_hub

    calls = []

    class FakeApi:
        def __init__(self, token=None):
            calls.append(("init", token))

        def create_repo(self, repo_id, **kw):
            calls.append(("create_repo", repo_id, kw["private"]))

        def upload_folder(self, folder_path, repo_id, **kw):
            calls.append(("upload_folder", folder_path, repo_id, kw["ignore_patterns"]))
            return "https://huggingface.co/me/topic/commit/abc"

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    folder = tmp_path / "topic"
    shutil.copytree(tiny_models["topic"], folder)
    assert main(["push", str(folder), "me/topic"]) == 2  # no model card yet
    assert "no model card" in capsys.readouterr().err
    (folder / "README.md").write_text("---\nlibrary_name: transformers\n---\n# card\n")
    assert main(["push", str(folder), "me/topic", "--private"]) == 0
    assert "commit/abc" in capsys.readouterr().out
    assert calls[1] == ("create_repo", "me/topic", True)
    assert calls[2][1:3] == (str(folder), "me/topic") and "checkpoints/*" in calls[2][3]
