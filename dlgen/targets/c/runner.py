"""Running generated C from Python: build a shared library (cached), load it with cffi (ABI)."""
from __future__ import annotations

from pathlib import Path

import cffi
import numpy as np

from ...errors import BadInput, DlgenError
from ...text import quote
from ...ir.dtypes import c_type
from ..base import Runner, TensorSpec
from . import build


class CRunner(Runner):
    target = "c"

    def __init__(self, artifact_dir: Path, manifest: dict, *, cc: str | None = None):
        super().__init__([TensorSpec.from_json(d) for d in manifest["inputs"]],
                         [TensorSpec.from_json(d) for d in manifest["outputs"]])
        self.artifact_dir = Path(artifact_dir)
        self.manifest = manifest
        self.prefix = manifest["c"]["prefix"]
        self.cc = cc
        self._lib = None
        self._blob = None

    def _prepare(self) -> None:
        path = build.build_shared(self.artifact_dir, cc=self.cc,
                                  config=self.manifest["c"].get("build_config"))
        self._ffi = cffi.FFI()
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
        self._ffi.cdef(decl)
        self._lib = self._ffi.dlopen(str(path))
        if self.manifest["c"]["weights_mode"] == "bin":
            raw = (self.artifact_dir / f"{self.prefix}.bin").read_bytes()
            self._blob = np.frombuffer(raw, dtype=np.uint8).copy()
            status = getattr(self._lib, f"{self.prefix}_load_weights")(
                self._ffi.from_buffer(self._blob), len(raw))
            if status != 0:
                raise DlgenError(f"{self.prefix}.bin was rejected by the model (status {status})",
                                 hint="recompile the artifact; the blob does not match the code")
        self._fn = getattr(self._lib, f"{self.prefix}_run")

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
        fn = getattr(self._lib, f"{self.prefix}_run_probed")
        outputs = self._call(fn, self.check_feeds(feeds),
                             [self._ffi.from_buffer(arena[start:])], [probe, self._ffi.NULL])
        return outputs, seen

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._call(self._fn, feeds)

    def _call(self, fn, feeds, before=(), after=()) -> dict[str, np.ndarray]:
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
        if self._lib is not None and not starts_threads(self.manifest["c"].get("build_config")):
            self._ffi.dlclose(self._lib)
        self._lib = None


def starts_threads(config: dict | None) -> bool:
    """Whether a library built with this build_config may start threads: an OpenMP team, the
    runtime's pthread pool (parallel.c) or a CBLAS's own pool. Such a library stays loaded:
    unloading it would unmap code under its idle worker threads, which would then crash the
    process."""
    config = config or {}
    libs = config.get("libs", [])
    return bool(config.get("parallel") or config.get("blas_libs")
                or "-fopenmp" in libs or "-pthread" in libs)
