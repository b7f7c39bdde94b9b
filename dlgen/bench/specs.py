"""Target specs of `dlgen bench -t`: ``NAME[:OPTION[,OPTION...]]``.

    c                       portable kernels, 1 thread (or --threads)
    c:kernels=cblas         GEMM-shaped work through a CBLAS (also c:cblas)
    c:threads=2             2 threads (overrides --threads for this target)
    c:kernels=cblas,threads=2
    c:threads=2,parallel=pthread   the runtime's POSIX thread pool instead of OpenMP
    c:winograd=off          3x3 convolutions without Winograd (on: wherever eligible)
    onnxruntime             CPU execution provider (also onnxruntime:cpu, ort)
    onnxruntime:openvino    an execution provider (names and aliases: `dlgen targets`)
    onnxruntime:threads=2   intra_op_num_threads = 2

For onnxruntime a bare word names an execution provider (targets/onnxruntime/providers.py: a
provider the installed onnxruntime lacks is refused, exit 2, saying which package has it).
Options are ``key=value``; the C target's reach dlgen.compile(..., options=...) unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import BadInput, TargetUnavailable
from ..text import quote

C_KERNELS = ("portable", "reference", "cblas")
C_PARALLEL = ("auto", "openmp", "pthread")
C_WINOGRAD = ("auto", "on", "off")
ALIASES = {"ort": "onnxruntime"}
BENCH_TARGETS = ("c", "onnxruntime")
SPEC_HINT = ("write -t c, -t c:kernels=cblas, -t c:threads=2, -t onnxruntime or "
             "-t onnxruntime:threads=2 (options joined with commas)")


@dataclass(frozen=True)
class TargetSpec:
    """One row of the benchmark: a target with its options and thread count."""

    name: str                                  # "c" | "onnxruntime"
    threads: int = 1
    kernels: str = "portable"                  # C only
    parallel: str = "auto"                     # C only: the thread backend
    winograd: str = "auto"                     # C only: Winograd 3x3 convolutions
    provider: str = "cpu"                      # onnxruntime only
    text: str = field(default="", compare=False)   # as the user wrote it

    @property
    def label(self) -> str:
        """The canonical spec: the name plus every option that differs from its default."""
        parts = []
        if self.name == "c" and self.kernels != "portable":
            parts.append(f"kernels={self.kernels}")
        if self.name == "c" and self.parallel != "auto":
            parts.append(f"parallel={self.parallel}")
        if self.name == "c" and self.winograd != "auto":
            parts.append(f"winograd={self.winograd}")
        if self.name == "onnxruntime" and self.provider != "cpu":
            parts.append(self.provider)
        if self.threads != 1:
            parts.append(f"threads={self.threads}")
        return self.name + (":" + ",".join(parts) if parts else "")

    def compile_options(self) -> dict:
        """Options for dlgen.compile: the C target's kernels, threads and parallel backend;
        ORT's provider."""
        if self.name == "c":
            return ({"kernels": self.kernels, "threads": self.threads}
                    | ({"parallel": self.parallel} if self.parallel != "auto" else {})
                    | ({"winograd": self.winograd} if self.winograd != "auto" else {}))
        return {"providers": [self.provider]}

    def options(self) -> dict:
        if self.name == "c":
            return ({"kernels": self.kernels, "threads": self.threads}
                    | ({"parallel": self.parallel} if self.parallel != "auto" else {})
                    | ({"winograd": self.winograd} if self.winograd != "auto" else {}))
        return {"provider": self.provider, "threads": self.threads}


def parse_target_spec(text: str, *, threads: int = 1) -> TargetSpec:
    """Parse one -t value; ``threads`` (from --threads) applies unless the spec sets threads."""
    raw = str(text).strip()
    name, colon, rest = raw.partition(":")
    name = ALIASES.get(name.strip().lower(), name.strip().lower())
    if name not in BENCH_TARGETS:
        _unknown_target(raw, name)
    items = [item.strip() for item in rest.split(",")] if rest.strip() else []
    if colon and (not items or any(not item for item in items)):
        raise BadInput(f"-t {quote(raw)}: empty option", hint=SPEC_HINT)
    spec = {"threads": threads}
    for item in items:
        key, eq, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not eq:
            key, value = _bare_word(raw, name, key)
        _set_option(raw, name, spec, key, value)
    return TargetSpec(name=name, text=raw, **spec)


def parse_target_specs(texts, *, threads: int = 1) -> list[TargetSpec]:
    """Parse every -t value; refuse two that name the same configuration."""
    specs = [t if isinstance(t, TargetSpec) else parse_target_spec(t, threads=threads)
             for t in texts]
    if not specs:
        raise BadInput("no target to benchmark",
                       hint="pass one or more -t, e.g. -t c -t onnxruntime")
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.label in seen:
            raise BadInput(f"-t {quote(spec.text or spec.label)} and -t {quote(seen[spec.label])} "
                           f"are the same configuration ({spec.label})",
                           hint="give each configuration once")
        seen[spec.label] = spec.text or spec.label
    return specs


def _unknown_target(raw: str, name: str) -> None:
    from ..targets import PLANNED, all_targets

    if name in PLANNED:
        raise TargetUnavailable(f"-t {quote(raw)}: target {name!r}: {PLANNED[name]}",
                                hint=f"bench targets: {', '.join(BENCH_TARGETS)}")
    if name in all_targets():
        raise TargetUnavailable(f"-t {quote(raw)}: dlgen bench cannot run target {name!r} yet",
                                hint=f"bench targets: {', '.join(BENCH_TARGETS)}")
    raise BadInput(f"-t {quote(raw)}: unknown target {quote(name)}",
                   hint=f"bench targets: {', '.join(BENCH_TARGETS)}; {SPEC_HINT}")


def _bare_word(raw: str, name: str, word: str) -> tuple[str, str]:
    """A word without '=': an execution provider for onnxruntime, the kernels for c."""
    if name == "onnxruntime":
        return "provider", word
    if word in C_KERNELS:
        return "kernels", word
    raise BadInput(f"-t {quote(raw)}: the C target has no option {quote(word)}",
                   hint="C options: kernels=portable|reference|cblas, threads=N")


def _set_option(raw: str, name: str, spec: dict, key: str, value: str) -> None:
    if key == "threads":
        spec["threads"] = _threads(raw, value)
    elif name == "c" and key == "kernels":
        if value not in C_KERNELS:
            raise BadInput(f"-t {quote(raw)}: unknown kernels {quote(value)}",
                           hint=f"choose kernels={' or kernels='.join(C_KERNELS)}")
        spec["kernels"] = value
    elif name == "c" and key == "parallel":
        if value not in C_PARALLEL:
            raise BadInput(f"-t {quote(raw)}: unknown parallel backend {quote(value)}",
                           hint=f"choose parallel={' or parallel='.join(C_PARALLEL)}")
        spec["parallel"] = value
    elif name == "c" and key == "winograd":
        if value not in C_WINOGRAD:
            raise BadInput(f"-t {quote(raw)}: unknown winograd mode {quote(value)}",
                           hint=f"choose winograd={' or winograd='.join(C_WINOGRAD)}")
        spec["winograd"] = value
    elif name == "onnxruntime" and key in ("provider", "ep"):
        spec["provider"] = _provider(raw, value.lower())
    else:
        allowed = ("kernels=portable|reference|cblas, threads=N, parallel=auto|openmp|pthread, "
                   "winograd=auto|on|off" if name == "c"
                   else "an execution provider (cpu, openvino, cuda...; see `dlgen targets`), "
                        "threads=N")
        raise BadInput(f"-t {quote(raw)}: target {name} has no option {quote(key)}",
                       hint=f"{name} options: {allowed}")


def _threads(raw: str, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise BadInput(f"-t {quote(raw)}: threads must be a whole number >= 1, not {quote(value)}",
                       hint="e.g. -t c:threads=2")
    return n


def _provider(raw: str, provider: str) -> str:
    """dlgen's name of the provider (aliases resolved); unknown or missing ones refused."""
    from ..targets.onnxruntime import providers

    try:
        chosen = providers.resolve(provider)
        providers.check_installed(chosen)
    except (BadInput, TargetUnavailable) as err:
        raise type(err)(f"-t {quote(raw)}: {err.message}", hint=err.hint) from None
    return chosen.name
