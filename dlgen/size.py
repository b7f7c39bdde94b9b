"""`dlgen size OUTDIR --cpu CPU`: flash and RAM of a generated C artifact on a CPU.

Every source of the artifact (the model, its weights, the runtime kernels it ships; not the
main.c test bench) is compiled to an object file with the CPU's compiler and flags
(arm-none-eabi-gcc -mcpu=... -mthumb -Os for the Cortex-M cores, aarch64-linux-gnu-gcc for the
Cortex-A53, the host's cc for ``host``), with -ffunction-sections -fdata-sections and
-fstack-usage. Then, from the objects (dlgen/elf.py):

* flash = code + rodata + data (the initial values of .data live in flash too), with the
  weights apart: the const arrays of the model's own objects (``<prefix>.c`` and
  ``<prefix>_weights.c``); ``code + rodata`` is what ``size`` prints as "text".
* RAM = the arena (the ``<prefix>_arena`` array) + other bss + data + a stack estimate.
* stack: the deepest call chain from ``<prefix>_run``: the sum of -fstack-usage frames along
  the call graph of -fcallgraph-info (GCC 10+). Calls into the C library (memcpy, expf...)
  count 0 and are listed; a recursive cycle or a dynamic frame makes it a lower bound (said).
  Without -fcallgraph-info (clang): the frames of ``<prefix>_run`` and ``<prefix>_run_ctx``
  plus the largest other frame, also labelled.

The sizes are those of the objects before linking: a linker with --gc-sections would also drop
any kernel function the model does not call, and add what it calls from the C library.
"""
from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .elf import KINDS, STT_OBJECT, read_elf
from .errors import BadInput, BuildError, TargetUnavailable
from .manifest import is_artifact, read_manifest
from .text import quote

MCU = "gcc-arm-none-eabi libnewlib-arm-none-eabi"


@dataclass(frozen=True)
class Cpu:
    cc: str | None              # None: the host's C compiler
    flags: tuple[str, ...]
    opt: str
    float_abi: str
    package: str = ""


CPUS = {
    "cortex-m0": Cpu("arm-none-eabi-gcc", ("-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"),
                     "-Os", "soft (no FPU)", MCU),
    "cortex-m4": Cpu("arm-none-eabi-gcc", ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16",
                                           "-mfloat-abi=hard"), "-Os", "hard, FPv4-SP", MCU),
    "cortex-m7": Cpu("arm-none-eabi-gcc", ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16",
                                           "-mfloat-abi=hard"), "-Os", "hard, FPv5 (DP)", MCU),
    "cortex-m33": Cpu("arm-none-eabi-gcc", ("-mcpu=cortex-m33", "-mthumb", "-mfpu=fpv5-sp-d16",
                                            "-mfloat-abi=hard"), "-Os", "hard, FPv5-SP", MCU),
    "cortex-m55": Cpu("arm-none-eabi-gcc", ("-mcpu=cortex-m55", "-mthumb", "-mfpu=auto",
                                            "-mfloat-abi=hard"), "-Os", "hard, MVE-F", MCU),
    "cortex-a53": Cpu("aarch64-linux-gnu-gcc", ("-mcpu=cortex-a53",), "-O2", "hard (AArch64)",
                      "gcc-aarch64-linux-gnu"),
    "host": Cpu(None, (), "-O2", "host"),
}
COMMON_FLAGS = ["-std=c99", "-ffunction-sections", "-fdata-sections", "-fstack-usage"]
CALLGRAPH_FLAG = "-fcallgraph-info=su"


def size_report(outdir, cpu: str, *, cc: str | None = None, opt: str | None = None,
                cflags: list[str] = ()) -> dict:
    """Flash and RAM of the C artifact ``outdir`` compiled for ``cpu`` (see the module doc)."""
    artifact, manifest = _artifact(outdir)
    if cpu not in CPUS:
        raise BadInput(f"unknown --cpu {quote(cpu)}", hint=f"choose one of {', '.join(CPUS)}")
    spec = CPUS[cpu]
    compiler = _compiler(cpu, spec, cc)
    flags = [*spec.flags, opt or spec.opt, *COMMON_FLAGS]
    if _has_callgraph_info(compiler):
        flags.append(CALLGRAPH_FLAG)
    flags += list(cflags)
    prefix = manifest["c"]["prefix"]
    with tempfile.TemporaryDirectory(prefix="dlgen-size-") as tmp:
        objects = _compile_all(artifact, compiler, flags, Path(tmp))
        elves = {src: read_elf(obj) for src, obj in objects.items()}
        stack = stack_estimate(Path(tmp), prefix)
    return _report(artifact, manifest, cpu, spec, compiler, flags, elves, stack)


def _artifact(outdir) -> tuple[Path, dict]:
    path = Path(outdir)
    if not is_artifact(path):
        raise BadInput(f"{quote(str(path))} is not a dlgen artifact folder (no dlgen.json)",
                       hint="compile first: dlgen compile MODEL -t c -o OUTDIR")
    manifest = read_manifest(path)
    if manifest.get("target") != "c":
        raise BadInput(f"{quote(str(path))} was compiled for {manifest.get('target')!r}; "
                       f"dlgen size measures generated C", hint="dlgen compile MODEL -t c -o DIR")
    return path, manifest


def _compiler(cpu: str, spec: Cpu, cc: str | None) -> str:
    if cc is None and spec.cc is None:
        from .targets.c.build import find_compiler

        return find_compiler()
    compiler = cc or spec.cc
    if shutil.which(compiler.split()[0]) is None:
        raise TargetUnavailable(f"--cpu {cpu} needs {compiler}, which is not installed",
                                hint=f"apt-get install {spec.package}" if spec.package and not cc
                                else "check --cc")
    return compiler


@functools.lru_cache(maxsize=None)
def _has_callgraph_info(cc: str) -> bool:
    try:
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run([*cc.split(), CALLGRAPH_FLAG, "-x", "c", "-c", "-o",
                                   str(Path(tmp) / "probe.o"), "-"],
                                  input="int f(void){return 0;}\n", capture_output=True,
                                  text=True, timeout=60, cwd=tmp)
        return proc.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _compile_all(artifact: Path, cc: str, flags: list[str], out: Path) -> dict[str, Path]:
    from .targets.c.build import include_flags, sources

    objects = {}
    for i, src in enumerate(sources(artifact)):
        obj = out / f"{i:02d}_{src.stem}.o"
        proc = subprocess.run([*cc.split(), *flags, *include_flags(artifact), "-c", str(src),
                               "-o", str(obj)], capture_output=True, text=True, cwd=out)
        if proc.returncode != 0:
            raise BuildError(f"compiling {src.name} with {cc} failed:\n"
                             f"{(proc.stderr or proc.stdout).strip()[-3000:]}",
                             hint="the portable kernels use GCC vector extensions; for a "
                                  "microcontroller compile with --kernels reference")
        objects[str(src.relative_to(artifact))] = obj
    return objects


def _report(artifact, manifest, cpu, spec, compiler, flags, elves, stack) -> dict:
    from .targets.c.build import compiler_version

    prefix = manifest["c"]["prefix"]
    per_object = [{"file": name, **elf.sizes()} for name, elf in elves.items()]
    total = {k: sum(o[k] for o in per_object) for k in KINDS}
    model_objs = [elf for name, elf in elves.items()
                  if name in (f"{prefix}.c", f"{prefix}_weights.c")]
    weights = sum(s.size for elf in model_objs for s in elf.symbols
                  if s.type == STT_OBJECT and s.kind == "rodata")
    arena = sum(s.size for elf in model_objs for s in elf.symbols
                if s.name == f"{prefix}_arena" and s.kind in ("bss", "bss-common"))
    weights_mode = manifest["c"].get("weights_mode")
    blob = artifact / f"{prefix}.bin"
    flash = {"code": total["code"], "rodata": total["rodata"], "weights": weights,
             "other_rodata": total["rodata"] - weights, "data_init": total["data"],
             "total": total["code"] + total["rodata"] + total["data"]}
    if weights_mode == "bin":
        flash["weights_blob"] = blob.stat().st_size if blob.exists() else None
    ram = {"arena": arena, "other_bss": total["bss"] - arena, "data": total["data"],
           "stack": stack["bytes"]}
    ram["total"] = sum(ram.values())
    return {
        "artifact": str(artifact), "cpu": cpu, "cc": compiler,
        "cc_version": compiler_version(compiler), "flags": flags, "float_abi": spec.float_abi,
        "kernels": manifest.get("options", {}).get("kernels", "portable"),
        "weights_mode": weights_mode, "manifest_arena_bytes": manifest.get("arena_bytes"),
        "manifest_weights_bytes": manifest.get("weights_bytes"),
        "flash": flash, "ram": ram, "stack": stack, "objects": per_object,
        "size_text": total["code"] + total["rodata"],    # GNU size's "text" of the objects
    }


# -- stack --------------------------------------------------------------------------------
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def read_stack_usage(folder: Path) -> dict[str, tuple[int, str]]:
    """function -> (bytes, qualifier) from every .su file (``file:line:col:name  N  static``)."""
    frames: dict[str, tuple[int, str]] = {}
    for su in sorted(folder.glob("*.su")):
        for line in su.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) != 3:
                continue
            name = parts[0].rpartition(":")[2]
            size, qualifier = int(parts[1]), parts[2].strip()
            if name not in frames or frames[name][0] < size:
                frames[name] = (size, qualifier)
    return frames


def read_call_graph(folder: Path) -> dict[str, set[str]] | None:
    """caller -> callees from the -fcallgraph-info .ci files, None when there are none."""
    files = sorted(folder.glob("*.ci"))
    if not files:
        return None
    graph: dict[str, set[str]] = {}
    for ci in files:
        for caller, callee in _EDGE.findall(ci.read_text()):
            graph.setdefault(caller, set()).add(callee)
    return graph


def stack_estimate(folder: Path, prefix: str) -> dict:
    frames = read_stack_usage(folder)
    graph = read_call_graph(folder)
    entry = f"{prefix}_run"
    dynamic = sorted(f for f, (_, q) in frames.items() if q != "static")
    if graph is None:
        own = frames.get(entry, (0, ""))[0] + frames.get(f"{entry}_ctx", (0, ""))[0]
        rest = max((b for f, (b, _) in frames.items() if f not in (entry, f"{entry}_ctx")),
                   default=0)
        return {"bytes": own + rest, "chain": [entry, f"{entry}_ctx", "(largest other frame)"],
                "method": "no call graph (the compiler lacks -fcallgraph-info): the run "
                          "functions' frames plus the largest other frame",
                "lower_bound": bool(dynamic), "dynamic_frames": dynamic, "external_calls": []}
    external: set[str] = set()
    cycles: set[str] = set()

    @functools.lru_cache(maxsize=None)
    def deepest(fn: str, path: tuple[str, ...] = ()) -> tuple[int, tuple[str, ...]]:
        if fn not in frames:
            external.add(fn)
            return 0, ()
        best: tuple[int, tuple[str, ...]] = (0, ())
        for callee in sorted(graph.get(fn, ())):
            if callee in path or callee == fn:
                cycles.add(callee)
                continue
            best = max(best, deepest(callee, path + (fn,)), key=lambda x: x[0])
        return frames[fn][0] + best[0], (fn,) + best[1]

    total, chain = deepest(entry)
    return {"bytes": total, "chain": list(chain),
            "method": "deepest call chain from the entry point: -fstack-usage frames summed "
                      "along the -fcallgraph-info call graph; C library calls count 0",
            "lower_bound": bool(dynamic or cycles), "dynamic_frames": dynamic,
            "recursive": sorted(cycles),
            "external_calls": sorted(f for f in external if f != "__indirect_call"),
            "indirect_calls": "__indirect_call" in external,
            "largest_frames": [{"function": f, "bytes": b} for f, (b, _) in
                               sorted(frames.items(), key=lambda kv: -kv[1][0])[:3]]}


# -- output -------------------------------------------------------------------------------
def rich_table(report: dict):
    from rich.table import Table

    fl, ram, st = report["flash"], report["ram"], report["stack"]
    table = Table(title=f"dlgen size: {report['artifact']} on {report['cpu']}")
    table.add_column("memory")
    table.add_column("part")
    table.add_column("bytes", justify="right")
    rows = [("flash", "code (.text)", fl["code"]), ("", "weights (const arrays)", fl["weights"]),
            ("", "other rodata", fl["other_rodata"]), ("", ".data initial values", fl["data_init"]),
            ("", "total", fl["total"])]
    if "weights_blob" in fl:
        rows.insert(2, ("", "weights blob (.bin, loaded at run time)", fl["weights_blob"] or 0))
    rows += [("RAM", "arena", ram["arena"]), ("", "other bss", ram["other_bss"]),
             ("", "data", ram["data"]),
             ("", "stack" + (" (at least)" if st["lower_bound"] else "") + " estimate",
              ram["stack"]), ("", "total", ram["total"])]
    for memory, part, value in rows:
        bold = part == "total"
        table.add_row(memory, f"[bold]{part}[/bold]" if bold else part,
                      f"[bold]{value:,}[/bold]" if bold else f"{value:,}")
    return table


def stack_lines(report: dict) -> list[str]:
    st = report["stack"]
    lines = [f"built with {report['cc_version']}: {' '.join(report['flags'])}; kernels "
             f"{report['kernels']}, weights {report['weights_mode']}; sizes of the objects "
             f"before linking (GNU size's text: {report['size_text']:,})",
             f"stack: {st['bytes']:,} bytes along {' -> '.join(st['chain'])} ({st['method']})"]
    if st.get("external_calls"):
        lines.append(f"  calls into the C library not counted: {', '.join(st['external_calls'])}")
    if st.get("dynamic_frames") or st.get("recursive"):
        lines.append(f"  lower bound: dynamic frames {st.get('dynamic_frames')}, recursion "
                     f"{st.get('recursive')}")
    if report["kernels"] == "portable" and report["cpu"].startswith("cortex-m"):
        lines.append("  the portable kernels use GCC vector extensions and stack buffers; for "
                     "a microcontroller consider dlgen compile --kernels reference")
    return lines
