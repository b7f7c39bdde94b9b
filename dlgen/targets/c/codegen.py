"""From a lowered, planned program to the files of a C artifact (names -> text/bytes)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ... import __version__
from ...ir.dtypes import stored_as_bits
from ...memory import align
from .emit import render
from .lower import RNG_STATE_VAR, Program
from .names import Namer, comment, identifier, is_library_name
from .plan import Layout, declarations

WEIGHT_MODES = ("c", "inline", "bin")
BLOB_MAGIC = b"DLGENWB1"
BLOB_HEADER = 16  # magic (8 bytes) + payload size (uint64, little-endian)


@dataclass
class Param:
    var: str
    ctype: str
    const: bool
    value: str
    dtype: str
    shape: tuple[int, ...]
    size: int
    note: str
    # Outputs with data-dependent dims: the extra ``int64_t *`` parameter receiving the
    # actual shape (rank entries), and which dims are dynamic; None for static outputs.
    shape_var: str | None = None
    dynamic: tuple[bool, ...] | None = None


@dataclass
class ConstArray:
    symbol: str
    ctype: str
    count: int
    lines: list[str]
    offset: int = 0  # in the weights blob (bin mode)
    note: str = ""


def format_values(data: np.ndarray, per_line: int = 8) -> list[str]:
    """C initializer text for an array, ``per_line`` values a line (exact for float32)."""
    flat = np.ascontiguousarray(data).ravel()
    if stored_as_bits(flat.dtype):  # 16- and 8-bit floats: their bit patterns
        flat = flat.view(f"uint{8 * flat.dtype.itemsize}")
    if flat.dtype == np.float32:
        text = np.char.add(np.char.mod("%.8e", flat.astype(np.float64)), "f")
    elif flat.dtype == np.float64:
        text = np.char.mod("%.17e", flat)
    elif flat.dtype == np.bool_:
        text = np.char.mod("%d", flat.astype(np.uint8))
    elif flat.dtype.kind == "i" and flat.dtype.itemsize == 8:
        text = np.char.add(np.char.add("INT64_C(", np.char.mod("%d", flat)), ")")
    elif flat.dtype.kind == "u" and flat.dtype.itemsize == 8:
        text = np.char.add(np.char.add("UINT64_C(", np.char.mod("%d", flat)), ")")
    else:
        text = np.char.mod("%d", flat)
    if flat.dtype.kind == "f" and not np.isfinite(flat).all():
        text = text.astype(object)
        text[np.isnan(flat)] = "NAN"
        text[np.isposinf(flat)] = "HUGE_VAL" + ("F" if flat.dtype == np.float32 else "")
        text[np.isneginf(flat)] = "-HUGE_VAL" + ("F" if flat.dtype == np.float32 else "")
    items = [str(t) for t in text]
    if not items:
        items = ["0"]
    return [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]


# Names generated code uses for its own locals; parameters must never take them.
RESERVED_LOCALS = {"arena", "arena_", "status", "a", "b", "x", "o", "i", "rng_"}
# (b<k>_...: the locals of nested control-flow bodies, ops/control.py)
_LOCAL_PATTERN = re.compile(r"^[vksid][0-9]+$|^b[0-9]+_")


def _clashes(ident: str, prefix: str) -> bool:
    """Whether a parameter named ``ident`` would collide with a name the generated code uses:
    its locals, the C library, the runtime, or the model's own file-scope symbols."""
    return bool(_LOCAL_PATTERN.match(ident) or ident in RESERVED_LOCALS or is_library_name(ident)
                or ident.startswith(f"{prefix}_") or ident.startswith("dlg"))


def _param_text(name: str, prefix: str = "model") -> str:
    """Model names that would look like generated locals (v3, i0...), C library names or the
    model's own symbols get a prefix."""
    ident = identifier(name)
    for candidate in (ident, f"t_{ident}", f"param_{ident}"):
        if not _clashes(candidate, prefix):
            return candidate
    return f"param_{ident}"


def make_params(program: Program, prefix: str = "model"
                ) -> tuple[list[Param], list[Param], dict[str, str]]:
    """Function parameters for graph inputs and outputs, and value -> C expression."""
    g = program.graph
    namer = Namer(RESERVED_LOCALS)
    inputs, outputs, exprs = [], [], {}
    for name in g.inputs:
        t = program.tensors[name]
        var = namer(_param_text(name, prefix), default="input")
        inputs.append(Param(var, t.ctype, True, name, t.dtype.name, t.shape, t.size,
                            comment(name)))
        exprs[name] = var
    for pos, name in enumerate(g.outputs):
        t = program.tensors[name]
        var = namer(_param_text(name, prefix), default="output")
        outputs.append(Param(var, t.ctype, False, name, t.dtype.name, t.shape, t.size,
                             comment(name)))
        if t.is_dynamic:
            outputs[-1].shape_var = namer(_param_text(f"{var}_shape", prefix))
            outputs[-1].dynamic = t.dynamic
            program.dims_used.add(name)
        if program.direct_outputs.get(name) == pos:
            exprs[name] = var
    return inputs, outputs, exprs


def make_consts(program: Program, layout: Layout, prefix: str, mode: str):
    """Const arrays for the used constants, and value -> C expression for each.

    Returns (arrays, exprs, blob): ``blob`` is the weights blob in "bin" mode, else None.
    """
    arrays, exprs, placed, offset = [], {}, [], BLOB_HEADER
    for name, t in program.tensors.items():
        if name not in program.used or layout.storage.get(name) != "const":
            continue
        symbol = f"{prefix}_{t.var}"
        arr = ConstArray(symbol, t.ctype, max(t.size, 1), [], note=comment(name))
        if mode == "bin":
            offset = align(offset)
            arr.offset = offset
            offset += t.nbytes
            placed.append((arr.offset, t.data))
            exprs[name] = f"(const {t.ctype} *)({prefix}_weights_ + {arr.offset}u)"
        else:
            arr.lines = format_values(t.data if t.size else np.zeros(1, t.dtype))
            exprs[name] = symbol
        arrays.append(arr)
    blob = _blob(placed, offset) if mode == "bin" else None
    return arrays, exprs, blob


def _blob(placed: list[tuple[int, np.ndarray]], end: int) -> bytearray:
    """The weights blob: magic, total size (uint64 LE), then each array at its offset (LE).
    Filled in place: the largest models' weights are never held twice."""
    blob = bytearray(align(end))
    blob[:8] = BLOB_MAGIC
    blob[8:16] = len(blob).to_bytes(8, "little")
    view = np.frombuffer(blob, dtype=np.uint8)
    for offset, data in placed:
        raw = np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("<")).reshape(-1)
        view[offset:offset + raw.nbytes] = raw.view(np.uint8)
    return blob


@dataclass
class Guard:
    """A specialized input: the run function refuses any other value."""

    param: str
    array: ConstArray
    nbytes: int


def specialization_guards(program: Program, inputs: list[Param], prefix: str) -> list[Guard]:
    guards = []
    for k, p in enumerate(inputs):
        data = program.tensors[p.value].data
        if data is None:
            continue
        arr = ConstArray(f"{prefix}_expected{k}", p.ctype, max(data.size, 1),
                         format_values(data if data.size else np.zeros(1, data.dtype)),
                         note=p.note)
        guards.append(Guard(p.var, arr, int(data.nbytes)))
    return guards


def render_files(program: Program, layout: Layout, *, name: str, weights: str = "c",
                 source_comment: str = "", with_main: bool = True, probes: bool = False,
                 runtime_files: list[str], build_config: dict | None = None
                 ) -> dict[str, str | bytes]:
    prefix = identifier(name, default="model")
    inputs, outputs, param_exprs = make_params(program, prefix)
    arrays, const_exprs, blob = make_consts(program, layout, prefix, weights)
    decls = declarations(program, layout, param_exprs, const_exprs)
    out_param = {pos: p.var for pos, p in enumerate(outputs)}
    copies = [(out_param[pos], program.tensors[val].var, program.tensors[val].nbytes)
              for pos, val in program.output_copies]
    guards = specialization_guards(program, inputs, prefix)
    dims_decls = [(program.tensors[n].dims_var, program.tensors[n].rank)
                  for n in sorted(program.dims_used, key=lambda n: program.tensors[n].var)]
    shape_copies = [(p.shape_var, program.tensors[p.value].dims_var, 8 * len(p.shape))
                    for p in outputs if p.shape_var]
    headers = sorted({f"dlgen/{m}.h" for m in program.runtime_modules} | {"dlgen/runtime.h"})
    ctx = dict(
        prefix=prefix, PREFIX=prefix.upper(), version=__version__,
        source=comment(source_comment or program.graph.name),
        inputs=inputs, outputs=outputs, decls=decls, steps=program.steps, copies=copies,
        arrays=arrays, weights_mode=weights, headers=headers, guards=guards, probes=probes,
        arena_bytes=layout.arena_bytes, arena_alloc=max(layout.arena_bytes, 16),
        weights_bytes=sum(program.tensors[n].nbytes for n in program.tensors
                          if layout.storage.get(n) == "const" and n in program.used),
        blob_bytes=len(blob) if blob is not None else 0,
        blob_magic=BLOB_MAGIC.decode(), blob_header=BLOB_HEADER,
        runtime_sources=[f for f in runtime_files if f.endswith(".c")],
        build=build_config or {"defines": [], "cflags": [], "libs": [], "blas_libs": []},
        rng_offset=layout.offsets.get(RNG_STATE_VAR),
        dims_decls=dims_decls, shape_copies=shape_copies,  # None: the model has no RNG state
    )
    files: dict[str, str | bytes] = {
        f"{prefix}.h": render("model.h.j2", **ctx),
        f"{prefix}.c": render("model.c.j2", **ctx),
        "Makefile": render("Makefile.j2", **ctx),
        "CMakeLists.txt": render("CMakeLists.txt.j2", **ctx),
    }
    if weights == "c":
        files[f"{prefix}_weights.c"] = render("weights.c.j2", **ctx)
    elif weights == "bin":
        files[f"{prefix}.bin"] = blob
    if with_main:
        files["main.c"] = render("main.c.j2", **ctx)
    return files
