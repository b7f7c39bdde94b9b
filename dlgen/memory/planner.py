"""Static-arena memory planning: give every intermediate tensor a byte offset in one arena.

The generated C code owns a single ``uint8_t`` arena. Every intermediate buffer gets a fixed
offset in it, chosen at compile time. Two buffers may share bytes only if their lifetimes
(inclusive ranges of op indices) do not overlap. The goal is a small arena: the *peak*, i.e. the
largest ``offset + aligned size`` over all buffers.

Two planners are provided, in the style of TensorFlow Lite Micro's planners:

``LinearPlanner``
    The baseline. Buffers are laid out one after another in the order they were added, with no
    reuse at all. The peak is the sum of the aligned sizes. Useful for debugging and as a
    reference point.

``GreedyPlanner``
    Greedy by size. Step by step:

    1. Round every size up to ``ALIGNMENT`` bytes, so that every offset we produce stays aligned.
    2. Sort the buffers by aligned size, largest first. Ties go to the buffer whose first use is
       earlier, then to the lower buffer id, so the plan is deterministic.
    3. Take the buffers in that order. For each one, collect the already-placed buffers whose
       lifetimes overlap it; only those can get in its way.
    4. Walk those conflicting buffers in order of offset, starting with a candidate offset of 0.
       If the new buffer fits in the gap before the next conflicting buffer, stop; otherwise move
       the candidate to the end of that buffer and continue.
    5. Place the buffer at the candidate: the lowest aligned offset where it overlaps no placed
       buffer in both address range and lifetime.

    Zero-size buffers occupy nothing; they get offset 0 and are skipped by the search.
    The plan is computed lazily on the first query and cached until the next ``add_buffer``.

Finding the placement with the smallest peak is NP-complete (it is a form of dynamic storage
allocation / two-dimensional strip packing), so the greedy planner is **not** guaranteed to be
optimal. Placing large buffers first tends to work well on neural-network graphs, where a few big
activations dominate. ``lower_bound()`` gives the largest total size that is live at any one op:
no planner can do better, so ``peak() - lower_bound()`` bounds how much any plan could still win.
"""
from __future__ import annotations

import abc
import operator
from typing import NamedTuple

ALIGNMENT = 16

# Characters used by dump() to draw buffers, indexed by buffer id; later ids share "*".
_BUFFER_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_OVERFLOW_CHAR = "*"
_DUMP_WIDTH = 60


def align(n: int, alignment: int = ALIGNMENT) -> int:
    """Round ``n`` up to the next multiple of ``alignment``."""
    n = operator.index(n)
    alignment = operator.index(alignment)
    if n < 0:
        raise ValueError(f"cannot align a negative size ({n})")
    if alignment <= 0:
        raise ValueError(f"alignment must be positive, got {alignment}")
    return (n + alignment - 1) // alignment * alignment


class Buffer(NamedTuple):
    """One buffer request: ``size`` bytes live from op ``first_use`` to ``last_use`` inclusive."""

    size: int
    first_use: int
    last_use: int
    name: str = ""

    @property
    def aligned_size(self) -> int:
        return align(self.size)

    def lives_with(self, other: Buffer) -> bool:
        """True if the two lifetimes share at least one op index."""
        return self.first_use <= other.last_use and other.first_use <= self.last_use


class MemoryPlanner(abc.ABC):
    """Collects buffer requests and assigns each an aligned offset in one arena.

    Subclasses implement ``_plan``; this class validates input, caches the plan, and offers
    the queries the code generator needs.
    """

    def __init__(self) -> None:
        self._buffers: list[Buffer] = []
        self._offsets: list[int] | None = None

    def add_buffer(self, size: int, first_use: int, last_use: int, name: str = "") -> int:
        """Request a buffer; returns its id (0, 1, 2, ... in the order of the calls)."""
        size = operator.index(size)
        first_use = operator.index(first_use)
        last_use = operator.index(last_use)
        if not isinstance(name, str):
            raise TypeError(f"buffer name must be a str, got {type(name).__name__}")
        if size < 0:
            raise ValueError(f"buffer {name!r}: size must be >= 0, got {size}")
        if last_use < first_use:
            raise ValueError(
                f"buffer {name!r}: last_use ({last_use}) is before first_use ({first_use})"
            )
        self._buffers.append(Buffer(size, first_use, last_use, name))
        self._offsets = None
        return len(self._buffers) - 1

    @property
    def buffers(self) -> tuple[Buffer, ...]:
        """The requested buffers, indexed by id (read-only)."""
        return tuple(self._buffers)

    def offset(self, buf: int) -> int:
        """Byte offset of buffer ``buf`` in the arena; always a multiple of ``ALIGNMENT``."""
        buf = operator.index(buf)
        if not 0 <= buf < len(self._buffers):
            raise IndexError(f"no buffer with id {buf} (have {len(self._buffers)})")
        return self._plan_cached()[buf]

    def offsets(self) -> list[int]:
        """All offsets, indexed by buffer id."""
        return list(self._plan_cached())

    def peak(self) -> int:
        """Arena size in bytes needed by the plan; 0 if there are no buffers."""
        offsets = self._plan_cached()
        ends = (off + b.aligned_size for off, b in zip(offsets, self._buffers))
        return max(ends, default=0)

    def lower_bound(self) -> int:
        """Largest total aligned size live at a single op; no plan can have a smaller peak."""
        events: list[tuple[int, int]] = []
        for b in self._buffers:
            events.append((b.first_use, b.aligned_size))
            events.append((b.last_use + 1, -b.aligned_size))
        events.sort()  # at equal times, frees (negative) come before allocations
        live = best = 0
        for _, delta in events:
            live += delta
            best = max(best, live)
        return best

    def dump(self) -> str:
        """A text drawing of the plan, one row per op, then a per-buffer table (ASCII only)."""
        return _render_plan(self)

    def _plan_cached(self) -> list[int]:
        if self._offsets is None:
            self._offsets = self._plan()
        return self._offsets

    @abc.abstractmethod
    def _plan(self) -> list[int]:
        """Compute one offset per buffer, indexed by buffer id."""


class LinearPlanner(MemoryPlanner):
    """Baseline: every buffer right after the previous one, no reuse."""

    def _plan(self) -> list[int]:
        offsets = []
        end = 0
        for b in self._buffers:
            offsets.append(end if b.size else 0)
            end += b.aligned_size
        return offsets


class GreedyPlanner(MemoryPlanner):
    """Greedy by size: largest first, each at the lowest offset that does not conflict."""

    def _plan(self) -> list[int]:
        offsets = [0] * len(self._buffers)
        placed: list[int] = []
        for buf in self._placement_order():
            if self._buffers[buf].size == 0:
                continue
            offsets[buf] = self._lowest_fit(buf, placed, offsets)
            placed.append(buf)
        return offsets

    def _placement_order(self) -> list[int]:
        def key(buf: int) -> tuple[int, int, int]:
            b = self._buffers[buf]
            return (-b.aligned_size, b.first_use, buf)

        return sorted(range(len(self._buffers)), key=key)

    def _lowest_fit(self, buf: int, placed: list[int], offsets: list[int]) -> int:
        """Lowest offset where ``buf`` overlaps no time-overlapping placed buffer."""
        me = self._buffers[buf]
        conflicts = sorted(
            (offsets[other], offsets[other] + self._buffers[other].aligned_size)
            for other in placed
            if me.lives_with(self._buffers[other])
        )
        candidate = 0
        for start, end in conflicts:
            if candidate + me.aligned_size <= start:
                break
            candidate = max(candidate, end)
        return candidate


def find_overlaps(planner: MemoryPlanner) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of buffers that overlap in both lifetime and address range.

    A correct plan has none. Address ranges use aligned sizes, since that is what each buffer
    reserves; zero-size buffers occupy nothing and never overlap.
    """
    bufs = planner.buffers
    spans = [(planner.offset(i), planner.offset(i) + b.aligned_size) for i, b in enumerate(bufs)]
    pairs = []
    for i in range(len(bufs)):
        for j in range(i + 1, len(bufs)):
            same_time = bufs[i].lives_with(bufs[j])
            same_bytes = spans[i][0] < spans[j][1] and spans[j][0] < spans[i][1]
            if same_time and same_bytes:
                pairs.append((i, j))
    return pairs


_PLANNERS: dict[str, type[MemoryPlanner]] = {"greedy": GreedyPlanner, "linear": LinearPlanner}


def make_planner(kind: str) -> MemoryPlanner:
    """A fresh planner by name: ``"greedy"`` or ``"linear"``."""
    try:
        return _PLANNERS[kind]()
    except (KeyError, TypeError):
        choices = ", ".join(sorted(_PLANNERS))
        raise ValueError(f"unknown memory planner {kind!r}; choose one of: {choices}") from None


# --- dump() rendering -------------------------------------------------------------------------


def _buffer_char(buf: int) -> str:
    return _BUFFER_CHARS[buf] if buf < len(_BUFFER_CHARS) else _OVERFLOW_CHAR


def _columns(offset: int, size: int, peak: int) -> range:
    """The bar columns covering bytes [offset, offset + size); at least one column."""
    start = offset * _DUMP_WIDTH // peak
    end = (offset + size) * _DUMP_WIDTH // peak
    return range(start, max(start + 1, end))


def _render_row(planner: MemoryPlanner, op: int, peak: int) -> str:
    bar = ["."] * _DUMP_WIDTH
    live_bytes = 0
    for buf, b in enumerate(planner.buffers):
        if b.first_use <= op <= b.last_use and b.size > 0:
            live_bytes += b.aligned_size
            for col in _columns(planner.offset(buf), b.aligned_size, peak):
                bar[col] = _buffer_char(buf)
    return f"{op:>6} |{''.join(bar)}| {live_bytes}"


def _render_table(planner: MemoryPlanner) -> list[str]:
    lines = [f"{'id':>6} {'ch':>2} {'size':>10} {'offset':>10} {'first':>6} {'last':>6}  name"]
    for buf, b in enumerate(planner.buffers):
        lines.append(
            f"{buf:>6} {_buffer_char(buf):>2} {b.size:>10} {planner.offset(buf):>10} "
            f"{b.first_use:>6} {b.last_use:>6}  {ascii(b.name)}"
        )
    return lines


def _render_plan(planner: MemoryPlanner) -> str:
    bufs = planner.buffers
    peak = planner.peak()
    lines = [
        f"{type(planner).__name__}: {len(bufs)} buffers, peak {peak} bytes, "
        f"lower bound {planner.lower_bound()} bytes, alignment {ALIGNMENT}"
    ]
    if not bufs:
        return lines[0] + "\n(no buffers)\n"
    first = min(b.first_use for b in bufs)
    last = max(b.last_use for b in bufs)
    lines.append(f"{'op':>6} |arena 0..{peak} bytes, {_DUMP_WIDTH} columns| live bytes")
    lines.extend(_render_row(planner, op, max(peak, 1)) for op in range(first, last + 1))
    lines.append("")
    lines.extend(_render_table(planner))
    return "\n".join(lines) + "\n"
