"""Running generated C from Python: build a shared library (cached), load it with cffi (ABI).

A generated library keeps its state in static storage (the arena, the weights pointer, a
thread pool), so one process loads each library once (``_Library``) and every runner of it
shares that copy: calls take the library's lock, and a ``.bin`` runner hands the library its
own weights again whenever another runner's were loaded in between.
"""
from __future__ import annotations

import threading
import weakref
from pathlib import Path

import cffi
import numpy as np

from ...errors import BadInput, DlgenError
from ...text import quote
from ...ir.dtypes import c_type
from ..base import Runner, TensorSpec
from . import build


class _Library:
    """One generated library loaded in this process, and the runners using it."""

    _loaded: dict[tuple[str, str], "_Library"] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: str, decl: str, resident: bool):
        self.key = (path, decl)
        self.ffi = cffi.FFI()
        self.ffi.cdef(decl)
        self.lib = self.ffi.dlopen(path)
        self.lock = threading.Lock()  # the generated code is not reentrant (static arena)
        self.resident = resident
        self.users = 0
        self.weights = None  # the blob the library points at now

    @classmethod
    def acquire(cls, path: str, decl: str, resident: bool) -> "_Library":
        with cls._registry_lock:
            lib = cls._loaded.get((path, decl))
            if lib is None:
                lib = cls._loaded[(path, decl)] = cls(path, decl, resident)
            lib.users += 1
            return lib

    def release(self) -> None:
        """One runner fewer. The last one unloads the library, unless it may have started
        threads (``resident``): unloading would unmap code and data under its idle workers,
        which crash the process as soon as they next run (a spinning worker: at once). Such a
        library stays loaded until the process ends, and later runners reuse it."""
        with self._registry_lock:
            self.users -= 1
            if self.users == 0 and not self.resident:
                del self._loaded[self.key]
                self.weights = None
                self.ffi.dlclose(self.lib)


class CRunner(Runner):
    target = "c"

    def __init__(self, artifact_dir: Path, manifest: dict, *, cc: str | None = None):
        super().__init__([TensorSpec.from_json(d) for d in manifest["inputs"]],
                         [TensorSpec.from_json(d) for d in manifest["outputs"]])
        self.artifact_dir = Path(artifact_dir)
        self.manifest = manifest
        self.prefix = manifest["c"]["prefix"]
        self.cc = cc
        self._library: _Library | None = None
        self._release = None
        self._blob = None

    def _prepare(self) -> None:
        config = self.manifest["c"].get("build_config")
        path = build.build_shared(self.artifact_dir, cc=self.cc, config=config)
        params = [f"const {c_type(np.dtype(s.dtype))} *" for s in self.inputs]
        for s in self.outputs:  # data-dependent outputs also receive their actual shape
            params += [f"{c_type(np.dtype(s.dtype))} *"] + (["int64_t *"] if s.is_dynamic else [])
        decl = f"int {self.prefix}_run({', '.join(params)});"
        if self.manifest["c"]["weights_mode"] == "bin":
            decl += f"\nint {self.prefix}_load_weights(const void *blob, size_t size);"
        if "probes" in self.manifest["c"]:
            decl += (f"\ntypedef void (*probe_fn)(int, const void *, size_t, void *);"
                     f"\nint {self.prefix}_run_probed(void *, {', '.join(params)}, probe_fn, "
                     "void *);")
        library = _Library.acquire(str(path), decl, starts_threads(config))
        # Released by close(), or when the runner is collected unclosed.
        self._release = weakref.finalize(self, library.release)
        self._library, self._ffi = library, library.ffi
        self._fn = getattr(library.lib, f"{self.prefix}_run")
        if self.manifest["c"]["weights_mode"] == "bin":
            try:
                raw = (self.artifact_dir / f"{self.prefix}.bin").read_bytes()
                self._blob = np.frombuffer(raw, dtype=np.uint8).copy()
                with library.lock:
                    self._load_weights()
            except BaseException:
                self._close()
                raise

    def _load_weights(self) -> None:
        """Point the library at this runner's weights (with its lock held), unless it is."""
        library = self._library
        if self._blob is None or library.weights is self._blob:
            return
        status = getattr(library.lib, f"{self.prefix}_load_weights")(
            self._ffi.from_buffer(self._blob), len(self._blob))
        if status != 0:
            raise DlgenError(f"{self.prefix}.bin was rejected by the model (status {status})",
                             hint="recompile the artifact; the blob does not match the code")
        library.weights = self._blob

    def bind(self, feeds: dict[str, np.ndarray]):
        """A zero-argument call of ``<prefix>_run`` on buffers bound once (checked ``feeds``,
        outputs allocated once), for timing loops: the C code plus one foreign call. None when
        the entry point has more than the plain (inputs..., outputs...) arguments. The caller
        owns the library meanwhile: no other runner of it may run between the calls."""
        self.prepare()
        if any(s.is_dynamic for s in self.outputs):
            return None
        fn = self._fn
        feeds = self.check_feeds(feeds)
        args, outs, _ = self._buffers(feeds)
        with self._library.lock:
            self._load_weights()

        def call():
            status = fn(*args)
            if status != 0:
                raise DlgenError(f"{self.prefix}_run returned status {status}")
        call.keep_alive = (outs, feeds)  # the buffers live as long as the call
        return call

    def run_probed(self, feeds) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Outputs, and every intermediate tensor the probes saw (artifact built with probes)."""
        probes = self.manifest["c"].get("probes")
        if probes is None:
            raise BadInput("this artifact was compiled without probes",
                           hint="compile with options={'probes': True}")
        self.prepare()
        seen: dict[str, np.ndarray] = {}

        @self._ffi.callback("void(int, const void *, size_t, void *)")
        def probe(index, data, nbytes, user):
            spec = probes[index]
            raw = bytes(self._ffi.buffer(data, nbytes))
            seen[spec["name"]] = np.frombuffer(raw, spec["dtype"]).reshape(spec["shape"])

        arena = np.zeros(self.manifest["arena_bytes"] + 16, np.uint8)
        start = (-arena.ctypes.data) % 16
        fn = getattr(self._library.lib, f"{self.prefix}_run_probed")
        outputs = self._call(fn, self.check_feeds(feeds),
                             [self._ffi.from_buffer(arena[start:])], [probe, self._ffi.NULL])
        return outputs, seen

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._call(self._fn, feeds)

    def _buffers(self, feeds):
        """The entry point's arguments for checked ``feeds``: the inputs, then each output
        (allocated here) and, for a data-dependent output, its shape; with the outputs and
        shapes by name."""
        ffi = self._ffi
        args = [ffi.from_buffer(f"{c_type(np.dtype(s.dtype))}[]", feeds[s.name])
                for s in self.inputs]
        outs = {s.name: np.empty(s.shape, dtype=s.dtype) for s in self.outputs}
        shapes = {s.name: np.zeros(len(s.shape), np.int64) for s in self.outputs if s.is_dynamic}
        for s in self.outputs:
            args.append(ffi.from_buffer(f"{c_type(np.dtype(s.dtype))}[]", outs[s.name],
                                        require_writable=True))
            if s.is_dynamic:
                args.append(ffi.from_buffer("int64_t[]", shapes[s.name], require_writable=True))
        return args, outs, shapes

    def _call(self, fn, feeds, before=(), after=()) -> dict[str, np.ndarray]:
        args, outs, shapes = self._buffers(feeds)
        with self._library.lock:
            self._load_weights()
            status = fn(*before, *args, *after)
        if status == -4:
            names = ", ".join(quote(n) for n in self.manifest.get("specialized_inputs", []))
            raise BadInput(f"the model was compiled for fixed values of {names}, and the "
                           "inputs differ", hint="recompile without specializing those inputs")
        if status == -5:
            dynamic = [s for s in self.outputs if s.is_dynamic]
            raise DlgenError(
                f"{self.prefix}_run returned DLG_ERR_BOUND (-5): a data-dependent size exceeded "
                "its compile-time bound (outputs with such sizes: "
                + ", ".join(f"{quote(s.name)} at most {list(s.shape)}" for s in dynamic) + ")",
                hint="recompile with a larger --bound NAME=N (or without --bound), or check "
                     "run-time inputs such as TopK's k")
        if status != 0:
            raise DlgenError(f"{self.prefix}_run returned status {status}")
        for name, dims in shapes.items():  # the data is compact in the actual shape
            count = int(np.prod(dims))
            outs[name] = outs[name].reshape(-1)[:count].reshape(tuple(int(d) for d in dims))
        return outs

    def _close(self) -> None:
        self._release()
        self._library = self._release = self._blob = None


def starts_threads(config: dict | None) -> bool:
    """Whether a library built with this build_config may start threads: an OpenMP team, the
    runtime's pthread pool (parallel.c) or a CBLAS's own pool. Such a library stays loaded:
    unloading it would unmap code under its idle worker threads, which would then crash the
    process."""
    config = config or {}
    libs = config.get("libs", [])
    return bool(config.get("parallel") or config.get("blas_libs")
                or "-fopenmp" in libs or "-pthread" in libs)
