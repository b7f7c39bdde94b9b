"""Load an ONNX model from a path or bytes, safely.

Order matters, so nothing expensive or dangerous happens before the model has been vetted:

1. read and parse the protobuf (external data is *not* followed by onnx);
2. refuse tensors whose declared size is negative or above ``max_tensor_bytes``;
3. vet external data references: relative, inside the model's folder, present, long enough;
4. run the ONNX checker (against the file when external data is involved);
5. load the external data ourselves;
6. inline local functions, and convert opsets below 13 up to 13 when the converter can.
"""
from __future__ import annotations

import logging
import os
import stat
from typing import Iterator

import onnx
import onnx.external_data_helper
import onnx.inliner
import onnx.version_converter
from google.protobuf.message import Error as ProtobufError
from onnx import AttributeProto, TensorProto, helper

from ..errors import BadInput, BadModel, ShapeError
from ..text import ascii_safe, quote

log = logging.getLogger(__name__)

DEFAULT_MAX_TENSOR_BYTES = 2**31
PROTOBUF_LIMIT = 2**31 - 1  # protobuf cannot serialize (or check in memory) a larger message
TARGET_OPSET = 13
_DEFAULT_DOMAINS = ("", "ai.onnx")

_NOT_ONNX_HINT = ("pass a complete binary .onnx file (not truncated, not a PyTorch/TensorFlow "
                  "checkpoint); re-export or re-download the model")


def load_model(source: str | os.PathLike | bytes | onnx.ModelProto, *,
               max_tensor_bytes: int = DEFAULT_MAX_TENSOR_BYTES) -> onnx.ModelProto:
    """Read, vet and normalize an ONNX model; raise BadModel/ShapeError naming what is wrong.

    ``source`` is a path, the serialized bytes of a model, or a ModelProto (copied, never
    edited). Models given as bytes or a ModelProto cannot use external data.
    """
    if isinstance(source, onnx.ModelProto):
        path, where = None, "model (ModelProto)"
        model = onnx.ModelProto()
        model.CopyFrom(source)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        path, where = None, "model bytes"
        model = _parse_bytes(bytes(source), where)
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        where = quote(path, limit=240)
        _check_path(path, where)
        model = _parse_file(path, where)
    else:
        raise BadInput(f"cannot load a model from a {type(source).__name__}",
                       hint="pass a path to an .onnx file, the model's bytes or an "
                            "onnx.ModelProto")

    _check_structure(model, where)
    check_tensor_sizes(model, max_tensor_bytes, where)
    base_dir = _vet_external_data(model, path, max_tensor_bytes, where)
    run_checker(model, path if base_dir else None, where)
    if base_dir:
        _load_external(model, base_dir, where)
    model = _inline_functions(model, where)
    return _convert_opset(model, where)


def _vet_external_data(model: onnx.ModelProto, path: str | None, max_tensor_bytes: int,
                       where: str) -> str | None:
    """The folder external data is read from (None when there is none); refuse bad references."""
    external = [t for t, _ in iter_tensors(model) if _uses_external_data(t)]
    if not external:
        return None
    if path is None:
        location = _external_field(external[0], "location") or ""
        raise BadModel(
            f"tensor {quote(external[0].name)} refers to external data {quote(location)}, but "
            f"the model was given in memory, so there is no folder to read it from", where=where,
            hint="save the model and its data files in one folder and pass the .onnx path, "
                 "or embed the data (onnx.save(model, path, save_as_external_data=False))")
    base_dir = os.path.dirname(os.path.abspath(path))
    for tensor in external:
        _check_external(tensor, base_dir, max_tensor_bytes, where)
    return base_dir


# -- reading -------------------------------------------------------------------------------

def _check_path(path: str, where: str) -> None:
    if not path:
        raise BadInput("empty model path", hint="pass the path to an .onnx file")
    if not os.path.exists(path):
        hint = "check the path; the model must be an .onnx file"
        if not path.endswith(".onnx") and os.path.isfile(path + ".onnx"):
            hint = f"did you mean {quote(path + '.onnx', limit=240)}?"
        raise BadModel("no such file", where=where, hint=hint)
    if os.path.isdir(path):
        raise BadModel("is a directory, not an ONNX model file", where=where,
                       hint=_directory_hint(path))
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise BadModel("is not a regular file", where=where,
                       hint="pass the path to an .onnx file")
    if os.path.getsize(path) == 0:
        raise BadModel("is empty (0 bytes), not an ONNX model", where=where,
                       hint="the export or download probably failed; " + _NOT_ONNX_HINT)
    if os.path.basename(path) == "dlgen.json":
        raise BadModel("is a dlgen artifact manifest, not an ONNX model", where=where,
                       hint="pass the source .onnx model; `dlgen run` accepts the artifact "
                            "folder itself")


def _directory_hint(path: str) -> str:
    if os.path.isfile(os.path.join(path, "dlgen.json")):
        return ("it looks like a compiled dlgen artifact (it has a dlgen.json); pass the source "
                ".onnx model to compile, or use `dlgen run` on the folder")
    try:
        models = sorted(n for n in os.listdir(path) if n.endswith(".onnx"))
    except OSError:
        models = []
    if models:
        shown = ", ".join(quote(os.path.join(path, n), limit=240) for n in models[:3])
        more = f" (and {len(models) - 3} more)" if len(models) > 3 else ""
        return f"pass the .onnx file inside it: {shown}{more}"
    return "pass the .onnx file inside it (none found there)"


def _parse_file(path: str, where: str) -> onnx.ModelProto:
    size = os.path.getsize(path)
    if size > PROTOBUF_LIMIT:
        raise BadModel(f"is {_human(size)}, above protobuf's 2 GiB limit for one file",
                       where=where,
                       hint="save large models with external data: onnx.save(model, path, "
                            "save_as_external_data=True)")
    try:
        return onnx.load(path, load_external_data=False)
    except PermissionError as exc:
        raise BadModel("cannot be read: permission denied", where=where,
                       hint="check the file's permissions") from exc
    except OSError as exc:
        raise BadModel(f"cannot be read: {ascii_safe(exc.strerror or str(exc))}", where=where,
                       hint="check the path and the file system") from exc
    except (ProtobufError, ValueError, UnicodeDecodeError, RuntimeError) as exc:
        with open(path, "rb") as f:
            head = f.read(16)
        raise _not_onnx(exc, head, where) from exc


def _parse_bytes(data: bytes, where: str) -> onnx.ModelProto:
    if not data:
        raise BadModel("is empty (0 bytes), not an ONNX model", where=where,
                       hint=_NOT_ONNX_HINT)
    if len(data) > PROTOBUF_LIMIT:
        raise BadModel(f"is {_human(len(data))}, above protobuf's 2 GiB limit", where=where,
                       hint="save the model with external data and pass its path")
    try:
        return onnx.load_model_from_string(data)
    except (ProtobufError, ValueError, RuntimeError) as exc:
        raise _not_onnx(exc, data[:16], where) from exc


def _not_onnx(exc: Exception, head: bytes, where: str) -> BadModel:
    first = ascii_safe(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 200)
    return BadModel(f"is not an ONNX model, or is truncated (protobuf parse failed: {first})",
                    where=where, hint=_sniff(head) or _NOT_ONNX_HINT)


def _sniff(head: bytes) -> str | None:
    """A hint when the first bytes show what the file actually is."""
    if head.startswith(b"PK\x03\x04"):
        return ("this is a zip archive (a PyTorch checkpoint is one); export the model to ONNX "
                "first, e.g. with torch.onnx.export")
    if head[4:8] == b"TFL3":
        return "this is a TensorFlow Lite model; convert it to ONNX first (e.g. with tf2onnx)"
    if head.startswith(b"\x89HDF"):
        return "this is an HDF5 (Keras) file; convert it to ONNX first (e.g. with tf2onnx)"
    if head.lstrip()[:1] in (b"{", b"[", b"<"):
        return "this is a text file (JSON/XML/HTML?); " + _NOT_ONNX_HINT
    return None


def _check_structure(model: onnx.ModelProto, where: str) -> None:
    missing = []
    if not model.HasField("graph"):
        missing.append("graph")
    if not model.opset_import:
        missing.append("opset_import")
    if missing:
        raise BadModel(f"is not an ONNX model, or is truncated: it has no "
                       f"{' and no '.join(missing)}", where=where, hint=_NOT_ONNX_HINT)


# -- tensors -------------------------------------------------------------------------------

def iter_tensors(model: onnx.ModelProto) -> Iterator[tuple[TensorProto, str]]:
    """Every TensorProto in the model, with a description of where it lives."""
    yield from _graph_tensors(model.graph, "")
    for func in model.functions:
        yield from _node_tensors(func.node, f" in function {quote(func.name)}")


def _graph_tensors(graph: onnx.GraphProto, ctx: str) -> Iterator[tuple[TensorProto, str]]:
    for tensor in graph.initializer:
        yield tensor, f"initializer{ctx}"
    for sparse in graph.sparse_initializer:
        yield sparse.values, f"sparse initializer values{ctx}"
        yield sparse.indices, f"sparse initializer indices{ctx}"
    yield from _node_tensors(graph.node, ctx)


def _node_tensors(nodes, ctx: str) -> Iterator[tuple[TensorProto, str]]:
    for node in nodes:
        label = f"attribute {{}} of node {quote(node.name or '')} ({node.op_type}){ctx}"
        for attr in node.attribute:
            where = label.format(quote(attr.name))
            if attr.type == AttributeProto.TENSOR:
                yield attr.t, where
            elif attr.type == AttributeProto.TENSORS:
                for t in attr.tensors:
                    yield t, where
            elif attr.type == AttributeProto.SPARSE_TENSOR:
                yield attr.sparse_tensor.values, where
                yield attr.sparse_tensor.indices, where
            elif attr.type == AttributeProto.GRAPH:
                yield from _graph_tensors(attr.g, f" in subgraph of {where}")
            elif attr.type == AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _graph_tensors(g, f" in subgraph of {where}")


# Element types narrower than a byte are packed; their exact size is ceil(count * bits / 8).
_SUB_BYTE_BITS = {getattr(TensorProto, n): bits for n, bits in
                  (("INT4", 4), ("UINT4", 4), ("FLOAT4E2M1", 4), ("INT2", 2), ("UINT2", 2),
                   ("FLOAT6E2M3", 6), ("FLOAT6E3M2", 6)) if hasattr(TensorProto, n)}


def _itemsize(data_type: int) -> int:
    try:
        return max(1, helper.tensor_dtype_to_np_dtype(data_type).itemsize)
    except (KeyError, TypeError, ValueError):
        return 1


def declared_nbytes(tensor: TensorProto) -> int:
    """Bytes the tensor says it holds, from its dims (no data is read or converted)."""
    if tensor.data_type == TensorProto.STRING:
        return sum(len(s) for s in tensor.string_data)
    count = 1
    for d in tensor.dims:
        count *= int(d)
    bits = _SUB_BYTE_BITS.get(tensor.data_type)
    if bits is not None:
        return (count * bits + 7) // 8
    return count * _itemsize(tensor.data_type)


def dtype_name(data_type: int) -> str:
    try:
        return TensorProto.DataType.Name(data_type).lower()
    except ValueError:
        return f"element type {data_type}"


def check_tensor_sizes(model: onnx.ModelProto, max_tensor_bytes: int, where: str) -> None:
    """Refuse negative dims and tensors whose declared or external size is above the limit."""
    for tensor, ctx in iter_tensors(model):
        name = f"tensor {quote(tensor.name)} ({ctx})"
        if any(d < 0 for d in tensor.dims):
            raise ShapeError(f"{name} has a negative dimension: dims {list(tensor.dims)}",
                             where=where, hint="the model is corrupt; re-export it")
        size = declared_nbytes(tensor)
        length = _external_int(tensor, "length", where)
        if length is not None:
            size = max(size, length)
        if size > max_tensor_bytes:
            raise ShapeError(
                f"{name} declares {_human(size)} (dims {list(tensor.dims)}, "
                f"{dtype_name(tensor.data_type)}), above the "
                f"limit of {_human(max_tensor_bytes)}", where=where,
                hint="if the model really holds tensors this large, raise max_tensor_bytes; "
                     "otherwise the file is corrupt or hostile")


# -- external data -------------------------------------------------------------------------

def _uses_external_data(tensor: TensorProto) -> bool:
    return tensor.HasField("data_location") and tensor.data_location == TensorProto.EXTERNAL


def _external_field(tensor: TensorProto, key: str) -> str | None:
    for entry in tensor.external_data:
        if entry.key == key:
            return entry.value
    return None


def _external_int(tensor: TensorProto, key: str, where: str) -> int | None:
    text = _external_field(tensor, key)
    if text is None or not _uses_external_data(tensor):
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise BadModel(f"tensor {quote(tensor.name)} has an invalid external data {key} "
                       f"{quote(text)}", where=where, hint="the model is corrupt; re-export it")
    return value


def _check_external(tensor: TensorProto, base_dir: str, max_bytes: int, where: str) -> None:
    name = quote(tensor.name)
    location = _external_field(tensor, "location")
    move_hint = ("move the data file next to the model (or into a folder below it) and save the "
                 "model with a relative location")
    if not location:
        raise BadModel(f"tensor {name} is marked as external data but has no location",
                       where=where, hint="the model is corrupt; re-export it")
    shown = quote(location, limit=240)
    if "\0" in location or os.path.isabs(location) or location.startswith(("/", "\\")) \
            or (len(location) > 1 and location[1] == ":"):
        raise BadModel(f"tensor {name} refers to external data at the absolute path {shown}; "
                       f"only paths relative to the model's folder are allowed",
                       where=where, hint=move_hint)
    root = os.path.realpath(base_dir)
    target = os.path.realpath(os.path.join(root, location))
    if os.path.commonpath([root, target]) != root or target == root:
        raise BadModel(f"tensor {name} refers to external data {shown}, which resolves outside "
                       f"the model's folder {quote(root, limit=240)}", where=where,
                       hint=move_hint)
    if os.path.islink(os.path.join(root, location)):
        raise BadModel(f"external data {shown} of tensor {name} is a symbolic link; onnx does "
                       f"not follow links to data files", where=where,
                       hint="replace the link with the data file itself")
    if not os.path.exists(target):
        raise BadModel(f"external data file {shown} of tensor {name} is missing", where=where,
                       hint="copy the data file(s) saved with the model into the model's folder")
    if not os.path.isfile(target):
        raise BadModel(f"external data {shown} of tensor {name} is not a regular file",
                       where=where, hint=move_hint)
    offset = _external_int(tensor, "offset", where) or 0
    length = _external_int(tensor, "length", where)
    file_size = os.path.getsize(target)
    declared = declared_nbytes(tensor)
    exact = tensor.data_type != TensorProto.STRING and tensor.data_type not in _SUB_BYTE_BITS
    if length is None:  # onnx reads from offset to the end of the file
        if exact and file_size - offset != declared:
            raise BadModel(f"external data for tensor {name} has no length, so the rest of "
                           f"{shown} is read: {max(file_size - offset, 0)} bytes, but the tensor "
                           f"needs {declared}", where=where,
                           hint="the data file is truncated or belongs to another model; "
                                "copy it again or re-export the model")
        if file_size - offset > max_bytes:
            raise ShapeError(f"external data for tensor {name} has no length, so the rest of "
                             f"{shown} is read: {_human(file_size - offset)}, above the limit "
                             f"of {_human(max_bytes)}", where=where,
                             hint="raise max_tensor_bytes, or re-export the model")
        return
    if exact and length != declared:
        raise BadModel(f"tensor {name} declares {declared} bytes but its external data length "
                       f"is {length}", where=where, hint="the model is corrupt; re-export it")
    if offset + length > file_size:
        raise BadModel(f"external data file {shown} is too short for tensor {name}: it needs "
                       f"bytes {offset}..{offset + length} but the file has {file_size}",
                       where=where, hint="the data file is truncated or belongs to another "
                                         "model; copy it again")


def _load_external(model: onnx.ModelProto, base_dir: str, where: str) -> None:
    try:
        onnx.external_data_helper.load_external_data_for_model(model, base_dir)
    except (OSError, ValueError, onnx.checker.ValidationError) as exc:
        raise BadModel(f"cannot load external data: {ascii_safe(str(exc), 300)}", where=where,
                       hint="keep the data files saved with the model next to it") from exc


# -- checks and normalization ---------------------------------------------------------------

def run_checker(model: onnx.ModelProto, path: str | None, where: str) -> None:
    """The ONNX checker; against the file when the model has external data."""
    try:
        if path is not None:
            onnx.checker.check_model(path)
        elif model.ByteSize() > PROTOBUF_LIMIT:
            log.debug("%s: model is over 2 GiB; skipping the in-memory ONNX checker", where)
        else:
            onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        text = lines[0] if lines else "validation failed"
        context = next((ln for ln in lines[1:] if ln.startswith("==> Context:")), None)
        if context:
            text += f" ({context[len('==> Context:'):].strip()})"
        hint = ("fix or re-export the model (a newer exporter or another opset often helps); "
                "onnx.checker.check_model(path, full_check=True) shows more")
        if text.startswith("No Op registered"):
            hint = ("the op is not part of the opset the model imports: re-export with a "
                    "standard opset; dlgen cannot compile custom ops")
        raise BadModel(f"fails the ONNX checker: {ascii_safe(text, 400)}", where=where,
                       hint=hint) from exc


def _inline_functions(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    if not model.functions:
        return model
    names = ", ".join(quote(f.name) for f in list(model.functions)[:5])
    try:
        inlined = onnx.inliner.inline_local_functions(model)
    except Exception as exc:  # onnx raises plain RuntimeError/ValueError from C++
        raise BadModel(f"cannot inline the model's local functions ({names}): "
                       f"{ascii_safe(str(exc), 300)}", where=where,
                       hint="re-export the model without local functions") from exc
    log.debug("%s: inlined local functions %s", where, names)
    return inlined


def default_opset(model: onnx.ModelProto) -> int | None:
    for opset in model.opset_import:
        if opset.domain in _DEFAULT_DOMAINS:
            return int(opset.version)
    return None


def _convert_opset(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    version = default_opset(model)
    if version is None or version >= TARGET_OPSET:
        return model
    try:
        converted = onnx.version_converter.convert_version(model, TARGET_OPSET)
        onnx.checker.check_model(converted)
    except Exception as exc:  # the converter raises many kinds; keeping the original is safe
        log.debug("%s: opset %d -> %d conversion failed (%s); keeping opset %d", where,
                  version, TARGET_OPSET, ascii_safe(str(exc), 200), version)
        return model
    log.debug("%s: converted opset %d -> %d", where, version, TARGET_OPSET)
    if version < 11:
        _keep_resize_10_coordinates(model, converted)
    return converted


def _keep_resize_10_coordinates(original: onnx.ModelProto, converted: onnx.ModelProto) -> None:
    """Upsample and Resize-10 map coordinates asymmetrically (x = y / scale) and round nearest
    down, but the converter turns them into Resize-11+ nodes without saying so, which then
    read as half_pixel: spell the old behaviour out on those nodes."""
    old = {tuple(n.output) for n in original.graph.node if n.op_type in ("Upsample", "Resize")}
    for node in converted.graph.node:
        if node.op_type != "Resize" or tuple(node.output) not in old:
            continue
        names = {a.name for a in node.attribute}
        if "coordinate_transformation_mode" not in names:
            node.attribute.append(onnx.helper.make_attribute("coordinate_transformation_mode",
                                                             "asymmetric"))
        if "nearest_mode" not in names:
            node.attribute.append(onnx.helper.make_attribute("nearest_mode", "floor"))


def _human(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"
