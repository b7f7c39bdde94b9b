"""Building generated C: a cached shared library for the runner, and strict compile checks."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ...errors import BadInput, BuildError, TargetUnavailable

STRICT_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
COMPILE_FLAGS = ["-std=c99", "-O3", "-fPIC"]
SHARED_FLAGS = [*COMPILE_FLAGS, "-shared"]
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


# The CBLAS library --kernels cblas links by default (Debian's libopenblas-dev); users point it
# elsewhere with the option blas_libs (e.g. "-lmkl_rt") or the Makefile's BLAS_LIBS.
DEFAULT_BLAS_LIBS = "-lopenblas"


def _links(cc: str, source: str, flags: list[str]) -> tuple[bool, str]:
    """Whether ``source`` compiles and links with ``flags``, and the compiler's message."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        Path(src).write_text(source)
        try:
            proc = subprocess.run([*cc.split(), src, "-o", os.path.join(tmp, "probe"), *flags],
                                  capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            return False, str(exc)
    return proc.returncode == 0, (proc.stderr or proc.stdout).strip()


# How --threads N > 1 runs the fast kernels' loops (runtime parallel.h): "openmp" (-fopenmp,
# the compiler's OpenMP runtime), "pthread" (a static pool of POSIX threads, -pthread), or
# "auto": OpenMP where the compiler links it, else pthreads; with --kernels cblas, pthreads
# first: the BLAS has its own thread pool, and OpenMP's workers, which spin after each loop,
# would fight it for the cores (MobileNet ran 20x slower at 2 threads on a busy 2-core host).
PARALLEL_BACKENDS = ("auto", "openmp", "pthread")
_OPENMP_PROBE = "#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n"
_PTHREAD_PROBE = ("#include <pthread.h>\nstatic void *f(void *p) { return p; }\n"
                  "int main(void) { pthread_t t; void *r;\n"
                  "if (pthread_create(&t, 0, f, 0)) return 1; return pthread_join(t, &r); }\n")


def parallel_backend(cc: str, threads: int, parallel: str = "auto",
                     kernels: str = "portable") -> str | None:
    """The backend of dlg_parallel_for for ``threads`` (None for 1 thread), checked against
    ``cc`` now: a backend that does not link is a compile-time error with a fix."""
    if parallel not in PARALLEL_BACKENDS:
        raise BadInput(f"unknown parallel backend {parallel!r}",
                       hint=f"choose one of {', '.join(PARALLEL_BACKENDS)}")
    if threads <= 1:
        return None
    tried = []
    candidates = [("openmp", _OPENMP_PROBE, "-fopenmp"), ("pthread", _PTHREAD_PROBE, "-pthread")]
    if kernels == "cblas":
        candidates.reverse()
    for backend, probe, flag in candidates:
        if parallel not in ("auto", backend):
            continue
        ok, log = _links(cc, probe, [flag])
        if ok:
            return backend
        tried.append(f"{backend}: {log.splitlines()[-1] if log else 'does not link'}")
    raise TargetUnavailable(f"{cc} cannot build threaded code for --threads {threads} "
                            f"(--parallel {parallel}; {'; '.join(tried)})",
                            hint="use --parallel auto (OpenMP or POSIX threads), install "
                                 "your compiler's OpenMP runtime (e.g. apt-get install "
                                 "libomp-dev for clang), or build with --threads 1")


def build_config(kernels: str, threads: int, *, blas_libs: str | None = None,
                 cc: str | None = None, parallel: str = "auto") -> dict:
    """Preprocessor defines, compile flags and link flags that the kernels, threads and
    parallel options need; checked against the compiler now, so a missing OpenMP, pthreads or
    CBLAS is a compile-time error with a fix, not a build failure later. ``parallel`` records
    the thread backend picked (None with one thread)."""
    cc = find_compiler(cc)
    config: dict = {"defines": [], "cflags": [], "libs": [], "blas_libs": [],
                    "parallel": parallel_backend(cc, threads, parallel, kernels)}
    if config["parallel"] is not None:
        flag = "-fopenmp" if config["parallel"] == "openmp" else "-pthread"
        config["defines"] += [f"DLG_THREADS={threads}",
                              f"DLG_PARALLEL_{config['parallel'].upper()}"]
        config["cflags"].append(flag)
        config["libs"].append(flag)
    if kernels == "cblas":
        libs = (blas_libs or DEFAULT_BLAS_LIBS).split()
        probe = ("#include <cblas.h>\nint main(void) { float a = 1, b = 1, c = 0;\n"
                 "cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, &a, 1, "
                 "&b, 1, 0.0f, &c, 1); return c != 1.0f; }\n")
        ok, log = _links(cc, probe, libs)
        if not ok:
            raise TargetUnavailable(f"no CBLAS to link with {' '.join(libs)}: "
                                    f"{log.splitlines()[-1] if log else ''}",
                                    hint="install one (apt-get install libopenblas-dev) or name "
                                         "yours with the blas_libs option (e.g. -lmkl_rt)")
        config["defines"].append("DLG_USE_CBLAS")
        if any(lib.startswith("-lopenblas") for lib in libs):
            # gemm.c pins OpenBLAS's own thread pool to --threads (openblas_set_num_threads);
            # other BLASes: -D'DLG_BLAS_SET_THREADS(n)=...' (docs/GENERATED_C.md).
            config["defines"].append("DLG_BLAS_OPENBLAS")
        config["blas_libs"] = libs
    return config


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


_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)


def _local_includes(source: Path, dirs: list[Path]) -> list[Path]:
    """``source`` and every quoted header it includes, transitively, found in ``dirs``."""
    seen, todo = [source], [source]
    while todo:
        current = todo.pop()
        for name in _INCLUDE.findall(current.read_text(errors="replace")):
            for d in (current.parent, *dirs):
                cand = d / name
                if cand.is_file():
                    if cand not in seen:
                        seen.append(cand)
                        todo.append(cand)
                    break
    return seen


def _digest(parts: list[bytes], flags: list[str], cc: str) -> str:
    h = hashlib.sha256()
    h.update(compiler_version(cc).encode())
    h.update(_cpu_model().encode())  # -march=native code only runs where it was built
    h.update("\0".join(flags).encode())
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:32]


def _object(source: Path, artifact_dir: Path, cc: str, flags: list[str]) -> Path:
    """Compile one source to an object file, cached by its content and the headers it reads
    (the runtime's sources are shared by every model, so each is compiled once per flag set)."""
    dirs = [artifact_dir, artifact_dir / "runtime" / "include"]
    files = _local_includes(source, dirs)
    parts = [source.name.encode()] + [f.name.encode() + b"\0" + f.read_bytes() for f in files]
    target = cache_dir() / "obj" / f"{source.stem}-{_digest(parts, flags, cc)}.o"
    if not target.exists():
        _compile_to(target, [*cc.split(), *flags, *include_flags(artifact_dir), "-c",
                             str(source)], f"{source.name} in {artifact_dir}")
    return target


def _compile_to(target: Path, cmd: list[str], what: str) -> None:
    """Run ``cmd -o target`` through a temporary file, so ``target`` appears whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=target.suffix + ".tmp")
    os.close(fd)
    try:
        run_compiler([*cmd, "-o", tmp], what)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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


def build_shared(artifact_dir: Path, *, cc: str | None = None, extra_flags: list[str] = (),
                 config: dict | None = None) -> Path:
    """Compile an artifact into a shared library (cached by content) and return its path.
    ``config`` is the artifact's build_config (defines, cflags, libs)."""
    cc = find_compiler(cc)
    artifact_dir = Path(artifact_dir)
    config = config or {}
    flags = (COMPILE_FLAGS + native_flags(cc) + [f"-D{d}" for d in config.get("defines", [])]
             + list(config.get("cflags", [])) + list(extra_flags))
    libs = list(config.get("blas_libs", [])) + list(config.get("libs", []))
    objects = [_object(f, artifact_dir, cc, flags) for f in sources(artifact_dir)]
    link = ["-shared", *flags, *libs, "-lm"]
    target = cache_dir() / _digest([o.name.encode() for o in objects], link, cc) / "libmodel.so"
    if not target.exists():
        _compile_to(target, [*cc.split(), "-shared", *flags, *map(str, objects), *libs, "-lm"],
                    f"{artifact_dir}")
    return target


def artifact_config(artifact_dir: Path) -> dict:
    """The build_config recorded in an artifact's dlgen.json ({} when there is none)."""
    path = Path(artifact_dir) / "dlgen.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get("c", {}).get("build_config", {})


def check_compiles(artifact_dir: Path, *, cc: str = "cc", flags: list[str] = STRICT_FLAGS,
                   with_main: bool = True) -> None:
    """Compile every source (and main.c) to objects with ``flags``; raise BuildError on any
    diagnostic. Used by tests to hold generated code to -Werror under gcc and clang. The
    artifact's own defines and flags (threads, cblas) are added from its dlgen.json."""
    config = artifact_config(artifact_dir)
    flags = [*flags, *(f"-D{d}" for d in config.get("defines", [])), *config.get("cflags", [])]
    files = sources(artifact_dir)
    if with_main and (artifact_dir / "main.c").exists():
        files.append(artifact_dir / "main.c")
    for f in files:  # a cached object means this exact source already compiled cleanly
        _object(f, Path(artifact_dir), cc, flags)
