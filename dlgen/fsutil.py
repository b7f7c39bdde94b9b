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


def check_output_dir(path: Path) -> None:
    """Refuse an output path that exists and is not an empty folder or a dlgen artifact."""
    if not path.exists():
        parent = path.parent if str(path.parent) else Path(".")
        if parent.exists() and not parent.is_dir():
            raise BadInput(f"cannot create {quote(str(path))}: {quote(str(parent))} is a file")
        return
    if path.is_dir() and (is_artifact(path) or not any(path.iterdir())):
        return
    what = "a file" if not path.is_dir() else "a folder that is not a dlgen artifact"
    raise BadInput(f"output {quote(str(path))} exists and is {what}",
                   hint="choose a new output folder or remove it; dlgen only replaces empty "
                        "folders and earlier dlgen artifacts")


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``path`` only when the block succeeds."""
    path = Path(path)
    check_output_dir(path)
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=parent))
            os.replace(path, old / "previous")
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
