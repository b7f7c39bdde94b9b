"""ONNX model -> dlgen IR Graph with static shapes: load, bind --input-shape, infer, convert.

The compiler driver then runs passes, ``reinfer`` and ``require_static`` on the result.
"""
from __future__ import annotations

import os
from typing import Sequence

import onnx

from ..errors import Unsupported
from ..ir import Graph, from_onnx
from ..text import ascii_safe
from .load import DEFAULT_MAX_TENSOR_BYTES, load_model
from .shapes import bind_input_shapes, infer_shapes


def import_model(source: str | os.PathLike | bytes | onnx.ModelProto, *,
                 input_shapes: dict[str, Sequence[int]] | None = None,
                 max_tensor_bytes: int = DEFAULT_MAX_TENSOR_BYTES) -> Graph:
    """Load ``source`` safely, bind ``input_shapes``, infer shapes, and return the IR graph."""
    model = load_model(source, max_tensor_bytes=max_tensor_bytes)
    model = bind_input_shapes(model, input_shapes, max_tensor_bytes=max_tensor_bytes,
                              inplace=True)
    model = infer_shapes(model)
    try:
        return from_onnx(model)
    except (ValueError, TypeError, KeyError) as exc:  # element types numpy cannot hold, etc.
        raise Unsupported(f"cannot convert the model to dlgen's IR: {ascii_safe(str(exc), 300)}",
                          hint="the model uses a data type or attribute dlgen does not support "
                               "yet; cast or re-export it") from exc
