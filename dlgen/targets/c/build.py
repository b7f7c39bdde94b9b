"""Building generated C: a cached shared library for the runner, and strict compile checks."""
from __future__ import annotations

import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from ...errors import BuildError, TargetUnavailable

STRICT_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
SHARED_FLAGS = ["-std=c99", "-O2", "-fPIC", "-shared"]
# The runner builds for the machine it runs on, like ONNX Runtime picks its kernels at run time.
NATIVE_FLAGS = ["-march=native"]


def find_compiler(preferred: str | None = None) -> str:
    """The C compiler to use: ``preferred``, $CC, then cc, gcc, clang."""
    for cand in [preferred, os.environ.get("CC"), "cc", "gcc", "clang"]:
        if cand and shutil.which(cand.split()[0]):
            return cand
    raise TargetUnavailable("no C compiler found (looked for $CC, cc, gcc, clang)",
                            hint="install one, e.g. `apt-get install gcc`, or set CC")


@functools.lru_cache(maxsize=None)
def native_flags(cc: str) -> list[str]:
    """NATIVE_FLAGS when ``cc`` accepts them (not every compiler or cross compiler does)."""
    try:
        proc = subprocess.run([*cc.split(), *NATIVE_FLAGS, "-x", "c", "-c", "-o", os.devnull,
                               "-"], input="int x;\n", capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return []
    return list(NATIVE_FLAGS) if proc.returncode == 0 else []


def compiler_version(cc: str) -> str:
    try:
        out = subprocess.run([*cc.split(), "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0] if out.stdout else cc
    except (OSError, subprocess.SubprocessError):
        return cc


def sources(artifact_dir: Path) -> list[Path]:
    """All C sources of an artifact: the model files and the runtime files it ships."""
    src = sorted(p for p in artifact_dir.glob("*.c") if p.name != "main.c")
    return src + sorted((artifact_dir / "runtime" / "src").glob("*.c"))


def include_flags(artifact_dir: Path) -> list[str]:
    return [f"-I{artifact_dir}", f"-I{artifact_dir / 'runtime' / 'include'}"]


@functools.lru_cache(maxsize=1)
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags", "Features")):
                return line
    except OSError:
        pass
    return platform.machine() + platform.processor()


def cache_dir() -> Path:
    root = os.environ.get("DLGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dlgen")
    return Path(root) / "build"


def _digest(files: list[Path], flags: list[str], cc: str) -> str:
    h = hashlib.sha256()
    h.update(compiler_version(cc).encode())
    h.update(_cpu_model().encode())  # -march=native code only runs where it was built
    h.update("\0".join(flags).encode())
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    for header in sorted(files[0].parent.glob("*.h")) + sorted(
            (files[0].parent / "runtime" / "include").rglob("*.h")):
        h.update(header.name.encode())
        h.update(header.read_bytes())
    return h.hexdigest()[:32]


def run_compiler(cmd: list[str], what: str) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except OSError as exc:
        raise TargetUnavailable(f"cannot run the C compiler: {exc}") from exc
    if proc.returncode != 0:
        log = (proc.stderr or proc.stdout).strip()
        if len(log) > 4000:
            log = log[:4000] + "\n... (truncated)"
        raise BuildError(f"compiling {what} failed:\n{log}",
                         hint="this is a dlgen bug; please report it with the model")


def build_shared(artifact_dir: Path, *, cc: str | None = None, extra_flags: list[str] = ()) -> Path:
    """Compile an artifact into a shared library (cached by content) and return its path."""
    cc = find_compiler(cc)
    files = sources(artifact_dir)
    flags = SHARED_FLAGS + native_flags(cc) + list(extra_flags)
    key = _digest(files, flags, cc)
    target = cache_dir() / key / "libmodel.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".so.tmp")
    os.close(fd)
    try:
        run_compiler([*cc.split(), *flags, *include_flags(artifact_dir), *map(str, files),
                      "-o", tmp, "-lm"], f"{artifact_dir}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def check_compiles(artifact_dir: Path, *, cc: str = "cc", flags: list[str] = STRICT_FLAGS,
                   with_main: bool = True) -> None:
    """Compile every source (and main.c) to objects with ``flags``; raise BuildError on any
    diagnostic. Used by tests to hold generated code to -Werror under gcc and clang."""
    with tempfile.TemporaryDirectory() as tmp:
        files = sources(artifact_dir)
        if with_main and (artifact_dir / "main.c").exists():
            files.append(artifact_dir / "main.c")
        for f in files:
            run_compiler([*cc.split(), *flags, *include_flags(artifact_dir), "-c", str(f),
                          "-o", os.path.join(tmp, f.stem + ".o")], f"{f.name} with {cc}")
