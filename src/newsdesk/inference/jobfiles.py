"""What keeps a batch job's files safe: the output never the input, one writer per output, and a
signature of everything that decides a record's result, so a resume never mixes two kinds of
output.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from newsdesk.data.tables import page_files
from newsdesk.errors import DataError


def beside(output_path: Path, suffix: str) -> Path:
    """A job's side file: `OUTPUT.errors.jsonl`, `OUTPUT.progress.json`, `OUTPUT.lock` ..."""
    return output_path.with_name(output_path.name + suffix)


def check_paths(input_path: Path, output_path: Path, *others: Path) -> None:
    """Refuse an output (or its side files) that is the input, by name, link or hard link."""
    for path in (output_path, *others):
        same = path.resolve() == input_path.resolve() or (
            path.exists() and input_path.exists() and os.path.samefile(path, input_path))
        if same:
            raise DataError(f"{path}: is the input file {input_path}; the output must be another "
                            "file (nothing was written)")


def input_identity(path: Path, block: int = 1 << 16) -> dict:
    """The input file's size, modification time and a hash of its first and last blocks; for a
    folder of pages, a hash of every page's name, size and modification time."""
    if path.is_dir():
        digest = hashlib.sha1()
        pages = page_files(path)
        for page in pages:
            stat = page.stat()
            digest.update(f"{page.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n"
                          .encode())
        return {"path": str(path.resolve()), "pages": len(pages),
                "sha1_listing": digest.hexdigest()}
    stat = path.stat()
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        digest.update(f.read(block))
        f.seek(max(0, stat.st_size - block))
        digest.update(f.read(block))
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "sha1_head_tail": digest.hexdigest()}


def job_signature(analyzer, input_path: Path, targets: list[str] | None) -> dict:
    """Everything that determines a record's result: the input file, each model folder's weights
    and settings, how it runs (options), the targets, and whether page furniture is removed."""
    models = {}
    for name, predictor in analyzer.models.items():
        folder = getattr(predictor, "folder", None)
        models[name] = {
            "folder": str(Path(folder).resolve()) if folder else None,
            "fingerprint": predictor.fingerprint or predictor.encoding_key,
            "options": {k: v for k, v in vars(predictor.options).items()},
        }
    return {"input": input_identity(input_path), "models": models, "targets": list(targets or []),
            "clean": analyzer.clean}


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """The dotted names of the fields that differ between two signatures."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out


class OutputLock:
    """An exclusive lock on an output path: `OUTPUT.lock` holding the writer's PID. A lock left by
    a process that no longer runs (killed) is taken over."""

    def __init__(self, output_path: Path):
        self.path = beside(output_path, ".lock")

    def check(self) -> None:
        """Refuse at once if a running job holds the output (before any model loads)."""
        pid = self._owner()
        if pid is not None and _alive(pid):
            raise DataError(f"{self.path}: another job (pid {pid}) is writing this output; "
                            "wait for it or use another --out")

    def __enter__(self) -> OutputLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                self.check()
                self.path.unlink(missing_ok=True)  # stale: its writer is gone
                continue
            with os.fdopen(fd, "w") as f:
                json.dump({"pid": os.getpid()}, f)
            return self
        raise DataError(f"{self.path}: cannot take the output lock")

    def __exit__(self, *exc) -> None:
        if self._owner() == os.getpid():
            self.path.unlink(missing_ok=True)

    def _owner(self) -> int | None:
        try:
            return int(json.loads(self.path.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
