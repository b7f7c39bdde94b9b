"""dlgen's intermediate representation."""
from .graph import Graph, Node, Value
from .onnx_io import from_onnx, to_onnx

__all__ = ["Graph", "Node", "Value", "from_onnx", "to_onnx"]
