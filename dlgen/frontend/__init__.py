"""dlgen's frontend: load ONNX models safely and bring them to static-shaped IR."""
from .importer import import_model
from .load import load_model
from .shapes import bind_input_shapes, infer_shapes, parse_input_shapes, reinfer, require_static

__all__ = ["load_model", "parse_input_shapes", "import_model", "bind_input_shapes",
           "infer_shapes", "reinfer", "require_static"]
