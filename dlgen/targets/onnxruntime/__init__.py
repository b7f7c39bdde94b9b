from .runner import OrtRunner
from .target import OrtTarget

__all__ = ["OrtRunner", "OrtTarget"]
