"""Where a benchmark ran: versions, compiler and flags, CPU, cores, OS, ONNX Runtime providers."""
from __future__ import annotations

import os
import platform
from datetime import datetime, timezone


def cpu_model() -> str:
    """The CPU's marketing name (/proc/cpuinfo on Linux, sysctl on macOS, platform otherwise)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "Model", "Hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cores() -> dict:
    """Logical CPUs of the machine, and those this process may run on (affinity / cgroup)."""
    logical = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = logical
    return {"logical": logical, "usable": usable}


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001 - a missing or broken package is reported as None
        return None


def compiler() -> dict:
    """The C compiler the C target's runner builds with, its version and flags."""
    from ..targets.c import build

    try:
        cc = build.find_compiler()
    except Exception:  # noqa: BLE001 - no compiler: the C target reports it when used
        return {"cc": None, "version": None, "flags": list(build.SHARED_FLAGS)}
    return {"cc": cc, "version": build.compiler_version(cc), "flags": list(build.SHARED_FLAGS)}


def collect() -> dict:
    """The environment block of the benchmark JSON."""
    from .. import __version__

    try:
        import onnxruntime as ort

        providers = ort.get_available_providers()
    except ImportError:
        providers = []
    return {
        "dlgen": __version__,
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "onnx": _version("onnx"),
        "onnxruntime": _version("onnxruntime"),
        "onnxruntime_providers_available": providers,
        "compiler": compiler(),
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "cores": cores(),
        "os": platform.platform(),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
