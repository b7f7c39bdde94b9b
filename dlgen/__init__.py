"""dlgen: compile trained ONNX models to standalone C and other deployment targets."""
__version__ = "0.1.0"

from .api import Artifact, compile, load, make_inputs, run, verify  # noqa: E402
from .bench import BenchReport, bench  # noqa: E402
from .errors import DlgenError  # noqa: E402
from .inspect import inspect_model  # noqa: E402

__all__ = ["__version__", "Artifact", "BenchReport", "DlgenError", "bench", "compile",
           "inspect_model", "load", "make_inputs", "run", "verify"]
