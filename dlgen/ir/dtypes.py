"""Element types: ONNX enum <-> numpy dtype <-> C type."""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

# numpy dtype name -> C99 type used in generated code
_C_TYPES = {
    "float32": "float",
    "float64": "double",
    "int8": "int8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "uint8": "uint8_t",
    "uint16": "uint16_t",
    "uint32": "uint32_t",
    "uint64": "uint64_t",
    "bool": "uint8_t",
    # 16-bit floats are stored as their bit patterns; kernels convert to float to compute
    # (runtime_c/include/dlgen/half.h).
    "float16": "uint16_t",
    "bfloat16": "uint16_t",
    # float8 likewise, as uint8_t bits (runtime_c/include/dlgen/float8.h); only Cast/CastLike
    # and data movement handle them.
    "float8_e4m3fn": "uint8_t",
    "float8_e4m3fnuz": "uint8_t",
    "float8_e5m2": "uint8_t",
    "float8_e5m2fnuz": "uint8_t",
    # The sub-byte types and float8e8m0, one element a byte as numpy (ml_dtypes) holds them
    # (runtime_c/include/dlgen/subbyte.h); only Cast/CastLike, (De)QuantizeLinear and data
    # movement handle them.
    "int4": "uint8_t",
    "uint4": "uint8_t",
    "int2": "uint8_t",
    "uint2": "uint8_t",
    "float4_e2m1fn": "uint8_t",
    "float8_e8m0fnu": "uint8_t",
}

HALF_TYPES = ("float16", "bfloat16")
FLOAT8_TYPES = ("float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz")
SUBBYTE_TYPES = ("int4", "uint4", "int2", "uint2", "float4_e2m1fn", "float8_e8m0fnu")


def from_onnx(elem_type: int) -> np.dtype:
    """numpy dtype for an ONNX TensorProto element type."""
    try:
        return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unknown ONNX element type {elem_type}") from exc


def to_onnx(dtype: np.dtype) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def onnx_name(elem_type: int) -> str:
    return TensorProto.DataType.Name(elem_type).lower()


def c_type(dtype: np.dtype) -> str:
    """The C99 type for a numpy dtype; raises KeyError for types the C target cannot store."""
    return _C_TYPES[np.dtype(dtype).name]


def has_c_type(dtype: np.dtype) -> bool:
    return np.dtype(dtype).name in _C_TYPES


def is_half(dtype: np.dtype) -> bool:
    """float16 or bfloat16: stored as uint16_t bits, computed in float."""
    return np.dtype(dtype).name in HALF_TYPES


def is_float8(dtype: np.dtype) -> bool:
    return np.dtype(dtype).name in FLOAT8_TYPES


def is_subbyte(dtype: np.dtype) -> bool:
    """int4, uint4, int2, uint2, float4e2m1 or float8e8m0: one element a byte, as bits."""
    return np.dtype(dtype).name in SUBBYTE_TYPES


def stored_as_bits(dtype: np.dtype) -> bool:
    """Whether C code holds this type as an unsigned integer bit pattern (16- and 8-bit floats,
    and the sub-byte types)."""
    return is_half(dtype) or is_float8(dtype) or is_subbyte(dtype)
