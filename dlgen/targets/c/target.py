"""The C target: IR graph -> standalone C99 sources, Makefile, CMakeLists and manifest."""
from __future__ import annotations

import shutil
from pathlib import Path

from ...errors import BadInput
from ...resources import runtime_dir
from ..base import Target
from . import build
from .codegen import WEIGHT_MODES, render_files
from .lower import KERNELS, lower
from .names import identifier
from .plan import plan
from .runner import CRunner

DEFAULT_OPTIONS = {"weights": "auto", "planner": "greedy", "main": True, "probes": False,
                   "kernels": "portable", "threads": 1, "blas_libs": None,
                   "winograd": "auto", "parallel": "auto"}
WINOGRAD_MODES = ("auto", "on", "off")
# Runtime modules the fast (src/opt) implementation of a module calls into.
OPT_DEPENDS = {"gemm": ["sgemm", "parallel"], "conv": ["sgemm", "geometry", "gemm", "parallel"],
               "winograd": ["sgemm", "geometry", "parallel"]}
# With --weights auto, models with more constant data than this get a .bin blob instead of C
# arrays: compilers are slow on huge initializers, and the blob loads in one read.
AUTO_BIN_BYTES = 16 << 20


class CTarget(Target):
    name = "c"
    description = "standalone C99: static arena, const weights, no malloc"

    def availability(self) -> tuple[bool, str]:
        try:
            cc = build.find_compiler()
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return False, str(exc)
        return True, f"generates C; runner builds with {build.compiler_version(cc)}"

    def compile(self, graph, outdir: Path, *, name: str, options: dict,
                source: str = "") -> dict:
        opts = {**DEFAULT_OPTIONS, **{k: v for k, v in options.items() if v is not None}}
        if opts["weights"] not in WEIGHT_MODES + ("auto",):
            raise BadInput(f"unknown weights mode {opts['weights']!r}",
                           hint=f"choose one of auto, {', '.join(WEIGHT_MODES)}")
        if opts["kernels"] not in KERNELS:
            raise BadInput(f"unknown kernels {opts['kernels']!r}",
                           hint=f"choose one of {', '.join(KERNELS)}")
        if opts["winograd"] not in WINOGRAD_MODES:
            raise BadInput(f"unknown winograd mode {opts['winograd']!r}",
                           hint=f"choose one of {', '.join(WINOGRAD_MODES)}")
        threads = opts["threads"]
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise BadInput(f"threads must be a positive integer, not {threads!r}",
                           hint="e.g. --threads 2 (1 = single-threaded, the default)")
        config = build.build_config(opts["kernels"], threads, blas_libs=opts["blas_libs"],
                                    parallel=opts["parallel"])
        program = lower(graph, probes=bool(opts["probes"]), kernels=opts["kernels"],
                        winograd=opts["winograd"])
        layout = plan(program, opts["planner"])
        weights_bytes = sum(program.tensors[n].nbytes for n in program.used
                            if layout.storage.get(n) == "const")
        if opts["weights"] == "auto":
            opts["weights"] = "bin" if weights_bytes > AUTO_BIN_BYTES else "c"
        prefix = identifier(name, default="model")
        runtime_files = copy_runtime(program.runtime_modules, outdir, opts["kernels"])
        files = render_files(program, layout, name=prefix, weights=opts["weights"],
                             source_comment=f"{source or 'a model'} (graph {graph.name})",
                             with_main=opts["main"], runtime_files=runtime_files,
                             probes=bool(opts["probes"]), build_config=config)
        for fname, content in files.items():
            path = outdir / fname
            if isinstance(content, (bytes, bytearray)):
                path.write_bytes(content)
            else:
                path.write_text(content)
        (outdir / "memory_plan.txt").write_text(layout.planner.dump() + "\n")
        return {
            "c": {
                "prefix": prefix,
                "header": f"{prefix}.h",
                "entry_points": [f"{prefix}_run", f"{prefix}_run_ctx"]
                + ([f"{prefix}_load_weights"] if opts["weights"] == "bin" else [])
                + ([f"{prefix}_seed", f"{prefix}_seed_ctx"] if program.rng_state else []),
                "weights_mode": opts["weights"],
                "runtime_modules": sorted(program.runtime_modules),
                "build_flags": build.SHARED_FLAGS,
                "build_config": config,
                **({"probes": [{"name": n, "node": node, "op": op,
                                "dtype": program.tensors[n].dtype.name,
                                "shape": list(program.tensors[n].shape)}
                               for n, node, op in program.probe_values]}
                   if opts["probes"] else {}),
            },
            "arena_bytes": layout.arena_bytes,
            "arena_lower_bound_bytes": layout.arena_lower_bound_bytes,
            "weights_bytes": weights_bytes,
            "options": opts,
        }

    def runner(self, artifact_dir: Path, manifest: dict) -> CRunner:
        return CRunner(artifact_dir, manifest)


def copy_runtime(modules: set[str], outdir: Path, kernels: str = "portable") -> list[str]:
    """Copy runtime.h plus each module's header and source, the fast one (src/opt) unless
    ``kernels`` is "reference"; return the relative paths of the sources."""
    src_root = runtime_dir()
    inc = outdir / "runtime" / "include" / "dlgen"
    src = outdir / "runtime" / "src"
    inc.mkdir(parents=True)
    src.mkdir(parents=True)
    wanted = set(modules)
    if kernels != "reference":
        for module in modules:
            if (src_root / "src" / "opt" / f"{module}.c").exists():
                wanted.update(OPT_DEPENDS.get(module, []))
    copied = []
    for module in ["runtime", *sorted(wanted)]:
        header = src_root / "include" / "dlgen" / f"{module}.h"
        shutil.copyfile(header, inc / header.name)
        candidates = ([src_root / "src" / "opt" / f"{module}.c"] if kernels != "reference"
                      else []) + [src_root / "src" / "ref" / f"{module}.c"]
        impl = next((c for c in candidates if c.exists()), None)
        if impl is not None:
            shutil.copyfile(impl, src / impl.name)
            copied.append(f"runtime/src/{impl.name}")
    return copied
