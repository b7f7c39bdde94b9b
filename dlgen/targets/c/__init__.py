from .target import CTarget

__all__ = ["CTarget"]
