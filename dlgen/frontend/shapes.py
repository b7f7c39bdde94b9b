"""Static shapes: ``--input-shape`` parsing and binding, ONNX shape inference, final checks.

dlgen compiles for one static shape per tensor. Dynamic graph inputs are bound with
``--input-shape NAME=1x3x224x224``; ONNX shape inference then propagates the shapes, and
``require_static`` refuses to go on while any value's dtype or shape is still unknown.
"""
from __future__ import annotations

import logging
import re
import shlex
from typing import Iterable, Sequence

import numpy as np
import onnx
import onnx.shape_inference
from onnx import TensorProto, helper

from ..errors import BadInput, ShapeError, Unsupported
from ..ir import Graph, Node, from_onnx, to_onnx
from ..text import ascii_safe, quote
from .load import DEFAULT_MAX_TENSOR_BYTES, dtype_name, declared_nbytes

log = logging.getLogger(__name__)

SPEC_FORMAT = "NAME=1x3x224x224 (or NAME=1,3,224,224; NAME= or NAME=scalar for a scalar)"
_SCALAR_WORDS = ("", "scalar", "[]", "()")
# Initializers larger than this are left out of the model that shape inference serializes:
# inference needs only their type and shape (shape-like constants are small).
_INFERENCE_KEEP_BYTES = 64 * 1024


# -- --input-shape --------------------------------------------------------------------------

def parse_input_shapes(specs: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """``["x=1x3x224x224", "mask=1,128", "t=scalar"]`` -> ``{"x": (1, 3, 224, 224), ...}``."""
    if isinstance(specs, str):
        specs = [specs]
    shapes: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        name, shape = _parse_spec(spec)
        if name in shapes and shapes[name] != shape:
            raise BadInput(f"--input-shape {quote(spec)}: input {quote(name)} is already bound "
                           f"to {format_dims(shapes[name])}",
                           hint="give each input one --input-shape")
        shapes[name] = shape
    return shapes


def _parse_spec(spec: str) -> tuple[str, tuple[int, ...]]:
    name, sep, dims_text = str(spec).rpartition("=")
    name = name.strip()
    if not sep or not name:
        raise BadInput(f"--input-shape {quote(spec)} is not NAME=DIMS",
                       hint=f"write {SPEC_FORMAT}")
    text = dims_text.strip()
    if text.lower() in _SCALAR_WORDS:
        return name, ()
    if text[:1] in "[(" and text[-1:] in ")]":
        text = text[1:-1]
    parts = [p.strip() for p in re.split(r"[xX,]", text)]
    if not all(re.fullmatch(r"[0-9]+", p) for p in parts) or any(int(p) < 1 for p in parts):
        raise BadInput(f"--input-shape {quote(spec)}: dimensions {quote(dims_text)} must be "
                       f"positive integers separated by 'x' or ','",
                       hint=f"write {SPEC_FORMAT}; dlgen compiles one static shape, so a "
                            f"dynamic dim needs a concrete size")
    return name, tuple(int(p) for p in parts)


def format_dims(dims: Iterable[int | str]) -> str:
    dims = list(dims)
    return "x".join(str(d) for d in dims) if dims else "scalar"


# -- binding ---------------------------------------------------------------------------------

def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Graph inputs that are real inputs, not initializers listed as inputs (IR < 4 style)."""
    inits = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def _is_fixed(dim: onnx.TensorShapeProto.Dimension) -> bool:
    return dim.HasField("dim_value") and dim.dim_value >= 0


def _symbol(dim: onnx.TensorShapeProto.Dimension) -> str | None:
    return dim.dim_param if dim.HasField("dim_param") and dim.dim_param else None


def bind_input_shapes(model: onnx.ModelProto, shapes: dict[str, Sequence[int]] | None, *,
                      max_tensor_bytes: int = DEFAULT_MAX_TENSOR_BYTES,
                      inplace: bool = False) -> onnx.ModelProto:
    """Set the graph inputs' dims from ``shapes`` and require every input to be static.

    A symbolic dim bound on one input (say ``batch``) is bound on every input that shares the
    symbol. Returns a copy unless ``inplace``.
    """
    shapes = {k: tuple(int(d) for d in v) for k, v in (shapes or {}).items()}
    if not inplace:
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        model = copy
    inputs = _graph_inputs(model)
    by_name = {i.name: i for i in inputs}
    unknown = [n for n in shapes if n not in by_name]
    if unknown:
        listing = ", ".join(f"{quote(i.name)} ({_describe_type(i)})" for i in inputs[:20])
        more = f" and {len(inputs) - 20} more" if len(inputs) > 20 else ""
        raise BadInput(f"--input-shape names {', '.join(quote(n) for n in unknown)}, but the "
                       f"model has no such input; its inputs are: {listing or 'none'}{more}",
                       hint="use one of the model's input names (`dlgen inspect MODEL` lists "
                            "them)")
    symbols: dict[str, int] = {}
    for name, dims in shapes.items():
        symbols.update(_bind_one(by_name[name], dims))
    for info in inputs:  # propagate symbols bound elsewhere
        if info.name not in shapes and info.type.tensor_type.HasField("shape"):
            for dim in info.type.tensor_type.shape.dim:
                if not _is_fixed(dim) and _symbol(dim) in symbols:
                    dim.dim_value = symbols[_symbol(dim)]
    _require_static_inputs(inputs, max_tensor_bytes)
    return model


def _bind_one(info: onnx.ValueInfoProto, dims: tuple[int, ...]) -> dict[str, int]:
    name = quote(info.name)
    if not info.type.HasField("tensor_type"):
        raise Unsupported(f"input {name} is a {info.type.WhichOneof('value') or 'untyped'} "
                          f"value, not a tensor; --input-shape applies to tensors",
                          hint="dlgen compiles models whose inputs are tensors")
    ttype = info.type.tensor_type
    flag = f"--input-shape {_flag_arg(info.name, dims)}"
    if not ttype.HasField("shape"):  # rank unknown: take the user's
        ttype.shape.SetInParent()
        for d in dims:
            ttype.shape.dim.add().dim_value = d
        return {}
    model_dims = list(ttype.shape.dim)
    if len(model_dims) != len(dims):
        raise ShapeError(f"{flag} gives input {name} rank {len(dims)}, but the model declares "
                         f"rank {len(model_dims)}: {_dims_text(model_dims)}",
                         hint=f"give {len(model_dims)} dims, e.g. --input-shape "
                              f"{_flag_arg(info.name, _suggest(model_dims))}")
    symbols = {}
    for index, (dim, size) in enumerate(zip(model_dims, dims)):
        if _is_fixed(dim):
            if dim.dim_value != size:
                raise ShapeError(f"{flag} sets dim {index} of input {name} to {size}, but the "
                                 f"model fixes it at {dim.dim_value} "
                                 f"({_dims_text(model_dims)})",
                                 hint=f"only dynamic dims can be bound; use --input-shape "
                                      f"{_flag_arg(info.name, _suggest(model_dims, dims))}")
            continue
        if _symbol(dim):
            symbols[_symbol(dim)] = size
        dim.dim_value = size  # clears dim_param (a oneof)
    return symbols


def _require_static_inputs(inputs: list[onnx.ValueInfoProto], max_tensor_bytes: int) -> None:
    problems, flags = [], []
    for info in inputs:
        if not info.type.HasField("tensor_type"):
            raise Unsupported(f"input {quote(info.name)} is a "
                              f"{info.type.WhichOneof('value') or 'untyped'} value; dlgen "
                              f"compiles models whose inputs are tensors",
                              hint="export the model with tensor inputs only")
        ttype = info.type.tensor_type
        if not ttype.HasField("shape"):
            problems.append(f"input {quote(info.name)} has unknown rank")
            flags.append(f"--input-shape {_flag_arg(info.name, ['DIMS'])}")
            continue
        dims = list(ttype.shape.dim)
        loose = [(i, d) for i, d in enumerate(dims) if not _is_fixed(d)]
        if loose:
            what = ", ".join(f"dim {i} ({quote(_symbol(d)) if _symbol(d) else 'unnamed'})"
                             for i, d in loose)
            problems.append(f"input {quote(info.name)} [{_dims_text(dims)}] has unbound {what}")
            flags.append(f"--input-shape {_flag_arg(info.name, _suggest(dims))}")
            continue
        _check_input_size(info, [d.dim_value for d in dims], max_tensor_bytes)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if
                                           len(problems) > 5 else "")
        raise ShapeError(f"dlgen needs static input shapes: {shown}",
                         hint="bind each dynamic dim (N below) to a size: " + " ".join(flags))


def _check_input_size(info: onnx.ValueInfoProto, dims: list[int], max_tensor_bytes: int) -> None:
    probe = TensorProto(dims=dims, data_type=info.type.tensor_type.elem_type)
    size = declared_nbytes(probe)
    if size > max_tensor_bytes:
        raise ShapeError(f"input {quote(info.name)} of shape {format_dims(dims)} needs "
                         f"{size} bytes, above the limit of {max_tensor_bytes}",
                         hint="bind smaller dims with --input-shape, or raise max_tensor_bytes")


def _suggest(dims: list, given: Sequence[int] = ()) -> list:
    """Model dims with fixed sizes kept and the others shown as N (or the user's size)."""
    out = []
    for i, d in enumerate(dims):
        if _is_fixed(d):
            out.append(d.dim_value)
        elif i < len(given):
            out.append(given[i])
        else:
            out.append("N")
    return out


def _dims_text(dims: list) -> str:
    parts = [str(d.dim_value) if _is_fixed(d) else (ascii_safe(_symbol(d), 40) if _symbol(d)
                                                     else "?") for d in dims]
    return "x".join(parts) if parts else "scalar"


def _flag_arg(name: str, dims: Iterable) -> str:
    arg = f"{name}={format_dims(dims)}"
    if name.isascii() and name.isprintable() and len(name) <= 200:
        return shlex.quote(arg)
    return f"{quote(name)}={format_dims(dims)}"


def _describe_type(info: onnx.ValueInfoProto) -> str:
    if not info.type.HasField("tensor_type"):
        return info.type.WhichOneof("value") or "untyped"
    ttype = info.type.tensor_type
    elem = dtype_name(ttype.elem_type)
    if not ttype.HasField("shape"):
        return f"{elem}, unknown rank"
    return f"{elem} [{_dims_text(list(ttype.shape.dim))}]"


# -- inference -------------------------------------------------------------------------------

def infer_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """ONNX shape inference with data propagation; returns a new model.

    Inference runs in strict mode first, so a wrong ``--input-shape`` or a model whose declared
    shapes contradict its ops is reported with onnx's message (op and node). When strict mode
    fails on something that does not matter (the lenient run still types every value), the
    lenient result is used. Large initializers are replaced by typed graph inputs for the run
    (onnx serializes the model, which fails above 2 GiB and costs a full copy), then put back.
    """
    light, kept = _without_large_initializers(model)
    try:
        inferred = _run_inference(light, strict=True)
    except onnx.shape_inference.InferenceError as strict_exc:
        inferred = _run_inference(light, strict=False)
        text = str(strict_exc)
        untyped = _untyped_values(inferred)
        if untyped and "differ" not in text and _has_control_flow(model):
            # If/Loop/Scan: dlgen's passes may still type these (InlineConstantIf,
            # InferControlFlowShapes); require_static reports what stays unknown.
            untyped = []
        if "differ" in text or untyped:
            raise _inference_error(strict_exc, untyped) from strict_exc
        log.debug("strict shape inference failed, lenient inference typed every value: %s",
                  ascii_safe(text, 400))
    if kept == len(model.graph.initializer):
        return inferred
    del inferred.graph.input[len(model.graph.input):]
    del inferred.graph.initializer[:]
    inferred.graph.initializer.extend(model.graph.initializer)
    return inferred


def _has_control_flow(model: onnx.ModelProto) -> bool:
    return any(n.op_type in ("If", "Loop", "Scan") and n.domain in ("", "ai.onnx")
               for n in model.graph.node)


def _run_inference(model: onnx.ModelProto, *, strict: bool) -> onnx.ModelProto:
    try:
        return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=strict,
                                                 data_prop=True)
    except onnx.shape_inference.InferenceError as exc:
        if strict:
            raise
        raise _inference_error(exc, []) from exc
    except onnx.checker.ValidationError as exc:
        raise _inference_error(exc, []) from exc


def _inference_error(exc: Exception, untyped: list[str]) -> ShapeError:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = " ".join(lines[:3]) or type(exc).__name__
    text = text.replace("[ShapeInferenceError] Inference error(s): ", "")
    extra = ""
    if untyped:
        extra = (f"; left without a static type: "
                 f"{', '.join(quote(n) for n in untyped[:5])}"
                 f"{' and more' if len(untyped) > 5 else ''}")
    return ShapeError(f"ONNX shape inference failed: {ascii_safe(text, 600)}{extra}",
                      hint="check the --input-shape values against the shapes the model was "
                           "exported for; if they are right, the model's declared shapes "
                           "contradict its ops (re-export it)")


def _untyped_values(model: onnx.ModelProto) -> list[str]:
    """Node outputs of the main graph without a known element type and static shape."""
    g = model.graph
    known = {}
    for info in list(g.input) + list(g.value_info) + list(g.output):
        known[info.name] = info
    known_inits = {t.name for t in g.initializer}
    missing = []
    for node in g.node:
        for out in node.output:
            if not out or out in known_inits:
                continue
            info = known.get(out)
            if info is None or not _static_tensor(info.type):
                missing.append(out)
    return missing


def _static_tensor(type_proto: onnx.TypeProto) -> bool:
    if not type_proto.HasField("tensor_type"):
        return False
    ttype = type_proto.tensor_type
    return (ttype.elem_type != 0 and ttype.HasField("shape")
            and all(_is_fixed(d) for d in ttype.shape.dim))


def _without_large_initializers(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """The model with initializers above _INFERENCE_KEEP_BYTES turned into typed inputs."""
    graph = model.graph
    small = [t for t in graph.initializer if declared_nbytes(t) <= _INFERENCE_KEEP_BYTES]
    if len(small) == len(graph.initializer):
        return model, len(small)
    light = onnx.ModelProto()
    _copy_fields(model, light, skip="graph")
    _copy_fields(graph, light.graph, skip="initializer")
    light.graph.initializer.extend(small)
    declared = {i.name for i in graph.input}
    for t in graph.initializer:
        if declared_nbytes(t) > _INFERENCE_KEEP_BYTES and t.name not in declared:
            light.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, t.dims))
    return light, len(small)


def _copy_fields(src, dst, *, skip: str) -> None:
    """Copy every set field of protobuf message ``src`` into ``dst`` except ``skip``."""
    for field, value in src.ListFields():
        if field.name == skip:
            continue
        repeated = (field.is_repeated if hasattr(field, "is_repeated")
                    else field.label == field.LABEL_REPEATED)
        if repeated:
            getattr(dst, field.name).extend(value)
        elif field.message_type is not None:
            getattr(dst, field.name).CopyFrom(value)
        else:
            setattr(dst, field.name, value)


def reinfer(graph: Graph) -> Graph:
    """Fill in dtypes and shapes that passes left unknown, by re-running ONNX inference."""
    missing = [n for n in _used_names(graph)
               if n in graph.values and (graph.values[n].dtype is None
                                         or graph.values[n].shape is None)]
    if not missing:
        return graph
    model = to_onnx(graph)
    for out in model.graph.output:  # to_onnx cannot type these; let inference do it
        value = graph.values.get(out.name)
        if value is not None and value.dtype is None:
            out.ClearField("type")
    inferred = from_onnx(infer_shapes(model))
    result = graph.copy()
    for name in missing:
        found = inferred.values.get(name)
        if found is None:
            continue
        value = result.values[name]
        if value.dtype is None and found.dtype is not None:
            value.dtype = found.dtype
        if value.shape is None and found.shape is not None:
            value.shape = found.shape
    return result


# -- final check -----------------------------------------------------------------------------

def _used_names(graph: Graph) -> list[str]:
    seen: dict[str, None] = {}
    for node in graph.nodes:
        for name in list(node.inputs) + list(node.outputs):
            if name:
                seen.setdefault(name, None)
    for name in graph.outputs:
        seen.setdefault(name, None)
    return list(seen)


def _node_label(node: Node | None) -> str:
    if node is None:
        return "a graph input"
    op = ascii_safe(f"{node.domain}::{node.op_type}" if node.domain else node.op_type, 80)
    return f"node {quote(node.name)} ({op})" if node.name else f"an unnamed {op} node"


def require_static(graph: Graph, *, max_tensor_bytes: int = DEFAULT_MAX_TENSOR_BYTES) -> None:
    """ShapeError unless every value used by a node (or output) has a known dtype and shape."""
    producers = graph.producers()
    unknown, too_big = [], None
    for name in _used_names(graph):
        value = graph.values.get(name)
        if value is None or value.dtype is None or value.shape is None:
            unknown.append(name)
        elif too_big is None and value.size * value.dtype.itemsize > max_tensor_bytes:
            too_big = value
    if unknown:
        details = []
        for name in unknown[:5]:
            value = graph.values.get(name)
            what = ("not declared" if value is None else
                    "unknown dtype and shape" if value.dtype is None and value.shape is None else
                    "unknown dtype" if value.dtype is None else "unknown shape")
            details.append(f"{quote(name)} ({what}; from {_node_label(producers.get(name))})")
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        custom = sorted({producers[n].domain for n in unknown if n in producers
                         and producers[n].domain})
        hint = ("bind every dynamic input with --input-shape NAME=DIMS (e.g. --input-shape "
                "input=1x3x224x224)")
        if custom:
            hint += ("; ONNX cannot infer shapes for ops in custom domains ("
                     + ", ".join(quote(d) for d in custom) + "), so such models may not compile")
        raise ShapeError(f"dlgen needs static shapes, but {len(unknown)} value(s) are unknown: "
                         f"{'; '.join(details)}{more}", hint=hint)
    if too_big is not None:
        raise ShapeError(f"value {quote(too_big.name)} ({np.dtype(too_big.dtype).name} "
                         f"{format_dims(too_big.shape)}, from "
                         f"{_node_label(producers.get(too_big.name))}) needs "
                         f"{too_big.size * too_big.dtype.itemsize} bytes, above the limit of "
                         f"{max_tensor_bytes}",
                         hint="bind smaller input shapes with --input-shape, or raise "
                              "max_tensor_bytes")


__all__ = ["parse_input_shapes", "bind_input_shapes", "infer_shapes", "reinfer",
           "require_static", "format_dims", "SPEC_FORMAT"]
