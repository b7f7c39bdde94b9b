"""Static-arena memory planning for the generated C code."""
from .planner import (
    ALIGNMENT,
    Buffer,
    GreedyPlanner,
    LinearPlanner,
    MemoryPlanner,
    align,
    find_overlaps,
    make_planner,
)

__all__ = [
    "ALIGNMENT",
    "Buffer",
    "GreedyPlanner",
    "LinearPlanner",
    "MemoryPlanner",
    "align",
    "find_overlaps",
    "make_planner",
]
