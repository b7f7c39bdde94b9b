"""Output folders are written whole or not at all: build in a temporary sibling, then rename."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import BadInput
from .manifest import is_artifact
from .text import quote


def _shown(path) -> str:
    """A path in a message: quoted and escaped, long enough to show the file name."""
    return quote(str(path), limit=240)


_REPLACE_HINT = ("choose a new output folder or remove it; dlgen only replaces empty folders and "
                 "earlier dlgen artifacts")


def check_output_dir(path: Path) -> None:
    """Refuse an output path that exists and is not an empty folder or a dlgen artifact."""
    if not path.exists():
        ancestor = path.parent if str(path.parent) else Path(".")
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if ancestor.exists() and not ancestor.is_dir():
            raise BadInput(f"cannot create {_shown(path)}: {_shown(ancestor)} is a file",
                           hint="choose an output path whose parent folders are folders")
        return
    if path.is_dir() and (is_artifact(path) or not any(path.iterdir())):
        return
    what = "a file" if not path.is_dir() else "a folder that is not a dlgen artifact"
    raise BadInput(f"output {_shown(path)} exists and is {what}", hint=_REPLACE_HINT)


def _missing_parents(parent: Path) -> list[Path]:
    """``parent`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``path`` only when the block succeeds.

    On failure nothing is left behind: not the temporary folder, nor the parent folders this
    call created.
    """
    path = Path(path)
    check_output_dir(path)
    parent = path.parent if str(path.parent) else Path(".")
    created = _missing_parents(parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=parent))
    except OSError as exc:
        _remove_empty(created)
        raise BadInput(f"cannot create the output folder {_shown(path)}: "
                       f"{exc.strerror or exc}",
                       hint="choose an output folder in a writable location") from None
    old = None
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=parent))
            os.replace(path, old / "previous")
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            if (old / "previous").exists() and not path.exists():
                os.replace(old / "previous", path)  # put the earlier artifact back
            shutil.rmtree(old, ignore_errors=True)
        _remove_empty(created)
        raise
