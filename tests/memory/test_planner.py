"""Tests for dlgen.memory: literal hand cases (TFLM style) plus seeded random stress cases."""
from __future__ import annotations

import random

import pytest

from dlgen.memory import (
    ALIGNMENT,
    GreedyPlanner,
    LinearPlanner,
    MemoryPlanner,
    align,
    find_overlaps,
    make_planner,
)

PLANNERS = [GreedyPlanner, LinearPlanner]


def build(cls: type[MemoryPlanner], specs: list[tuple]) -> MemoryPlanner:
    """A planner of class ``cls`` holding ``specs``: (size, first, last[, name]) tuples."""
    planner = cls()
    for spec in specs:
        planner.add_buffer(*spec)
    return planner


def chain(sizes: list[int]) -> list[tuple[int, int, int, str]]:
    """A chain of ops: buffer i is written by op i and read by op i + 1."""
    return [(size, i, i + 1, f"t{i}") for i, size in enumerate(sizes)]


def random_specs(seed: int, count: int) -> list[tuple[int, int, int, str]]:
    rng = random.Random(seed)
    specs = []
    for i in range(count):
        size = rng.choice([0, 1, 15, 16, 17, rng.randint(1, 4096), rng.randint(1, 100_000)])
        first = rng.randint(0, 120)
        last = first + rng.choice([0, 1, 2, rng.randint(0, 40)])
        specs.append((size, first, last, f"buf{i}"))
    return specs


def check_plan(planner: MemoryPlanner) -> None:
    """The invariants every plan must satisfy."""
    assert find_overlaps(planner) == []
    for buf in range(len(planner.buffers)):
        assert planner.offset(buf) % ALIGNMENT == 0
    assert planner.peak() >= planner.lower_bound()


HAND_CASES = {
    "single": [(100, 0, 0)],
    "disjoint_lifetimes": [(64, 0, 1), (64, 2, 3), (64, 4, 5)],
    "all_live_together": [(10, 0, 5), (20, 0, 5), (30, 0, 5), (40, 0, 5)],
    "nested": [(1000, 0, 10), (200, 2, 4), (300, 3, 8), (50, 9, 9), (400, 5, 6)],
    "diamond": [(256, 0, 2), (128, 1, 3), (128, 1, 3), (256, 3, 4)],
    "odd_sizes": [(1, 0, 1), (3, 1, 2), (17, 0, 2), (33, 2, 3), (15, 1, 1)],
    "same_op": [(16, 7, 7), (32, 7, 7), (48, 7, 7)],
    "with_zero_size": [(0, 0, 3), (64, 0, 1), (0, 1, 1), (64, 1, 2)],
    "tflm_like": [
        (100, 0, 1),
        (50, 1, 2),
        (20, 2, 3),
        (10, 3, 4),
        (40, 0, 4),
        (70, 1, 3),
        (60, 2, 4),
    ],
}


# --- align -------------------------------------------------------------------------------------


def test_align_values() -> None:
    assert [align(n) for n in (0, 1, 15, 16, 17, 31, 32, 33)] == [0, 16, 16, 16, 32, 32, 32, 48]
    assert align(5, 4) == 8
    assert align(8, 8) == 8
    assert align(3, 1) == 3


def test_align_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        align(-1)
    with pytest.raises(ValueError):
        align(10, 0)
    with pytest.raises(ValueError):
        align(10, -16)


# --- invariants on hand cases -----------------------------------------------------------------


@pytest.mark.parametrize("cls", PLANNERS)
@pytest.mark.parametrize("case", sorted(HAND_CASES))
def test_hand_cases_have_no_overlaps(cls: type[MemoryPlanner], case: str) -> None:
    check_plan(build(cls, HAND_CASES[case]))


@pytest.mark.parametrize("cls", PLANNERS)
def test_empty_planner(cls: type[MemoryPlanner]) -> None:
    planner = cls()
    assert planner.peak() == 0
    assert planner.lower_bound() == 0
    assert planner.buffers == ()
    assert find_overlaps(planner) == []
    assert planner.dump().isascii()


@pytest.mark.parametrize("cls", PLANNERS)
def test_buffer_ids_count_up(cls: type[MemoryPlanner]) -> None:
    planner = cls()
    assert [planner.add_buffer(16, i, i) for i in range(4)] == [0, 1, 2, 3]


@pytest.mark.parametrize("cls", PLANNERS)
def test_buffers_records_requests(cls: type[MemoryPlanner]) -> None:
    planner = build(cls, [(10, 0, 2, "a"), (0, 1, 1, "b")])
    first = planner.buffers[0]
    assert tuple(first) == (10, 0, 2, "a")
    assert (first.size, first.first_use, first.last_use, first.name) == (10, 0, 2, "a")
    assert planner.buffers[1].name == "b"
    with pytest.raises((TypeError, AttributeError)):
        planner.buffers[0] = first  # type: ignore[index]


# --- random stress -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", PLANNERS)
@pytest.mark.parametrize("seed", range(8))
def test_random_plans_are_valid(cls: type[MemoryPlanner], seed: int) -> None:
    planner = build(cls, random_specs(seed, 300))
    check_plan(planner)


@pytest.mark.parametrize("seed", range(8))
def test_random_greedy_never_worse_than_linear(seed: int) -> None:
    specs = random_specs(seed, 300)
    greedy = build(GreedyPlanner, specs)
    linear = build(LinearPlanner, specs)
    assert greedy.lower_bound() <= greedy.peak() <= linear.peak()
    assert greedy.lower_bound() == linear.lower_bound()


def test_random_many_small_buffers() -> None:
    rng = random.Random(1234)
    planner = GreedyPlanner()
    for i in range(500):
        first = rng.randint(0, 300)
        planner.add_buffer(rng.randint(0, 64), first, first + rng.randint(0, 5), f"n{i}")
    check_plan(planner)


# --- linear planner ----------------------------------------------------------------------------


def test_linear_peak_is_sum_of_aligned_sizes() -> None:
    specs = HAND_CASES["odd_sizes"]
    planner = build(LinearPlanner, specs)
    assert planner.peak() == sum(align(size) for size, *_ in specs) == 16 + 16 + 32 + 48 + 16


def test_linear_offsets_follow_add_order() -> None:
    planner = build(LinearPlanner, [(10, 0, 0), (20, 5, 5), (33, 0, 9)])
    assert [planner.offset(i) for i in range(3)] == [0, 16, 48]
    assert planner.peak() == 96


@pytest.mark.parametrize("seed", range(3))
def test_linear_random_peak_is_sum(seed: int) -> None:
    specs = random_specs(seed, 200)
    assert build(LinearPlanner, specs).peak() == sum(align(s) for s, *_ in specs)


# --- greedy planner ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes",
    [
        [64] * 10,
        [16, 32, 48, 64, 80, 96],
        [96, 80, 64, 48, 32, 16],
        [1000, 10, 1000, 10, 1000],
        [100, 200, 300, 400],
        [512],
    ],
)
def test_greedy_reaches_lower_bound_on_chains(sizes: list[int]) -> None:
    planner = build(GreedyPlanner, chain(sizes))
    check_plan(planner)
    assert planner.peak() == planner.lower_bound()


def test_greedy_chain_ping_pongs() -> None:
    # Uniform chain: two slots suffice, buffers alternate between them.
    planner = build(GreedyPlanner, chain([64] * 6))
    assert [planner.offset(i) for i in range(6)] == [0, 64, 0, 64, 0, 64]
    assert planner.peak() == planner.lower_bound() == 128


def test_greedy_reuses_memory_on_chain() -> None:
    specs = chain([256, 128, 512, 64, 256, 128])
    greedy = build(GreedyPlanner, specs)
    linear = build(LinearPlanner, specs)
    assert greedy.peak() < linear.peak()
    assert greedy.peak() == greedy.lower_bound() == 128 + 512  # largest adjacent pair
    assert linear.peak() == 256 + 128 + 512 + 64 + 256 + 128


def test_greedy_hand_offsets() -> None:
    # Largest first: "big" takes offset 0; "b" and "c" live with it and stack above it;
    # "late" starts after "big" dies and reuses offset 0.
    planner = build(
        GreedyPlanner,
        [(300, 0, 2, "big"), (100, 1, 3, "b"), (50, 2, 4, "c"), (200, 3, 5, "late")],
    )
    assert [planner.offset(i) for i in range(4)] == [0, 304, 416, 0]
    assert planner.peak() == 480
    assert planner.lower_bound() == 304 + 112 + 64
    check_plan(planner)


def test_greedy_fills_gap_below_existing_buffer() -> None:
    # "big" (ops 0..1) takes offset 0, "long" (ops 0..4) goes above it; "late" (ops 3..4)
    # only conflicts with "long", so it drops into the space "big" has freed below it.
    planner = build(
        GreedyPlanner, [(512, 0, 1, "big"), (256, 0, 4, "long"), (128, 3, 4, "late")]
    )
    assert [planner.offset(i) for i in range(3)] == [0, 512, 0]
    assert planner.peak() == 768
    check_plan(planner)


def test_greedy_uses_gap_between_buffers() -> None:
    # Placed in order p, q, r: p @0, q @256 (lives with p), r @448 (lives with p and q).
    # "s" lives with p and r but not q, so it fits in q's range between them.
    planner = build(
        GreedyPlanner,
        [(256, 0, 5, "p"), (192, 0, 1, "q"), (160, 0, 5, "r"), (128, 3, 4, "s")],
    )
    assert [planner.offset(i) for i in range(4)] == [0, 256, 448, 256]
    assert planner.peak() == 608
    check_plan(planner)


def test_greedy_tie_break_by_first_use_then_id() -> None:
    planner = build(GreedyPlanner, [(64, 3, 5, "late"), (64, 0, 5, "early"), (64, 0, 5, "early2")])
    # Equal sizes: earliest first_use first ("early" id 1, then "early2" id 2), then "late".
    assert planner.offset(1) == 0
    assert planner.offset(2) == 64
    assert planner.offset(0) == 128


def test_greedy_alignment_of_odd_sizes() -> None:
    planner = build(GreedyPlanner, [(1, 0, 0), (17, 0, 0), (33, 0, 0)])
    assert sorted(planner.offset(i) for i in range(3)) == [0, 48, 80]
    assert planner.peak() == 96
    check_plan(planner)


def test_greedy_is_not_always_optimal() -> None:
    # A chain where greedy misses the lower bound (optimal placement is NP-complete).
    # t0=160 @0, t3=144 @0, t1=64 above t0 @160, then t2=48 cannot fit below t1 (t3 is at
    # 0..144, t1 at 160..224) so it goes to 224: peak 272. The bound is 160 + 64 = 224.
    planner = build(GreedyPlanner, chain([160, 64, 48, 144]))
    assert [planner.offset(i) for i in range(4)] == [0, 160, 224, 0]
    assert planner.peak() == 272
    assert planner.lower_bound() == 224
    check_plan(planner)


def test_greedy_plan_is_cached_and_invalidated() -> None:
    planner = GreedyPlanner()
    planner.add_buffer(64, 0, 1, "a")
    assert planner.peak() == 64
    assert planner.peak() == 64
    planner.add_buffer(256, 0, 1, "b")  # bigger: now placed first, pushing "a" up
    assert planner.offset(1) == 0
    assert planner.offset(0) == 256
    assert planner.peak() == 320


# --- zero-size buffers -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", PLANNERS)
def test_zero_size_buffers(cls: type[MemoryPlanner]) -> None:
    planner = build(cls, [(0, 0, 5, "empty"), (32, 0, 5, "x"), (0, 2, 2, "empty2")])
    assert planner.offset(0) == 0
    assert planner.offset(2) == 0
    assert planner.offset(1) == 0
    assert planner.peak() == 32
    assert planner.lower_bound() == 32
    assert find_overlaps(planner) == []


@pytest.mark.parametrize("cls", PLANNERS)
def test_only_zero_size_buffers(cls: type[MemoryPlanner]) -> None:
    planner = build(cls, [(0, 0, 0, "z0"), (0, 0, 1, "z1")])
    assert planner.peak() == 0
    assert planner.lower_bound() == 0
    assert "z0" in planner.dump() and "z1" in planner.dump()


# --- lower bound -------------------------------------------------------------------------------


def test_lower_bound_values() -> None:
    assert build(GreedyPlanner, HAND_CASES["all_live_together"]).lower_bound() == 16 + 32 + 32 + 48
    assert build(GreedyPlanner, HAND_CASES["disjoint_lifetimes"]).lower_bound() == 64
    # Buffers meeting at one op both count there (lifetimes are inclusive).
    assert build(GreedyPlanner, [(16, 0, 1), (32, 1, 2)]).lower_bound() == 48
    assert build(GreedyPlanner, [(16, 0, 0), (32, 1, 2)]).lower_bound() == 32


# --- bad arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", PLANNERS)
def test_bad_arguments(cls: type[MemoryPlanner]) -> None:
    planner = cls()
    with pytest.raises(ValueError, match="size"):
        planner.add_buffer(-1, 0, 0, "neg")
    with pytest.raises(ValueError, match="last_use"):
        planner.add_buffer(16, 5, 4, "backwards")
    with pytest.raises(TypeError):
        planner.add_buffer(16.0, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        planner.add_buffer(16, 0, 0, name=3)  # type: ignore[arg-type]
    assert planner.buffers == ()  # rejected requests leave no trace
    planner.add_buffer(16, 0, 0)
    with pytest.raises(IndexError):
        planner.offset(1)
    with pytest.raises(IndexError):
        planner.offset(-1)


def test_make_planner() -> None:
    assert isinstance(make_planner("greedy"), GreedyPlanner)
    assert isinstance(make_planner("linear"), LinearPlanner)
    assert make_planner("greedy") is not make_planner("greedy")
    with pytest.raises(ValueError, match="greedy.*linear"):
        make_planner("optimal")


def test_memory_planner_is_abstract() -> None:
    with pytest.raises(TypeError):
        MemoryPlanner()  # type: ignore[abstract]


# --- find_overlaps -----------------------------------------------------------------------------


class _StackedPlanner(MemoryPlanner):
    """A deliberately broken planner: every buffer at offset 0."""

    def _plan(self) -> list[int]:
        return [0] * len(self.buffers)


def test_find_overlaps_detects_conflicts() -> None:
    planner = build(_StackedPlanner, [(16, 0, 1), (16, 1, 2), (16, 3, 3), (0, 0, 3)])
    assert find_overlaps(planner) == [(0, 1)]


# --- dump --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", PLANNERS)
def test_dump_lists_every_buffer_in_ascii(cls: type[MemoryPlanner]) -> None:
    names = ["conv1_out", "relu/1", "", "naïve→tensor", "line\nbreak", "x" * 80]
    planner = cls()
    for i, name in enumerate(names):
        planner.add_buffer(16 * (i + 1), i, i + 2, name)
    text = planner.dump()
    assert text.isascii()
    for name in names:
        assert ascii(name) in text
    assert "conv1_out" in text and "relu/1" in text
    # One row per op index 0..7, no raw newline from the names.
    rows = [line for line in text.splitlines() if "|" in line and line.split("|")[0].strip().isdigit()]
    assert [int(row.split("|")[0]) for row in rows] == list(range(0, 8))
    assert str(planner.peak()) in text


def test_dump_draws_buffers_at_their_offsets() -> None:
    planner = build(GreedyPlanner, [(64, 0, 1, "a"), (64, 1, 2, "b")])
    rows = {
        int(line.split("|")[0]): line.split("|")[1]
        for line in planner.dump().splitlines()
        if line.split("|")[0].strip().isdigit()
    }
    assert rows[0] == "0" * 30 + "." * 30
    assert rows[1] == "0" * 30 + "1" * 30
    assert rows[2] == "." * 30 + "1" * 30


def test_dump_many_buffers_uses_overflow_char() -> None:
    planner = build(GreedyPlanner, [(16, 0, 0, f"b{i}") for i in range(70)])
    text = planner.dump()
    assert text.isascii()
    assert "*" in text
    for i in range(70):
        assert f"'b{i}'" in text
