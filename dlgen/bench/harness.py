"""`dlgen.bench`: compile a model for several targets, measure each in its own process on the
same inputs, check every target's outputs against ONNX Runtime, and return one report.

    import dlgen
    report = dlgen.bench("model.onnx", ["c", "c:threads=2", "onnxruntime"], iterations=100)
    report.to_dict()      # the JSON schema of docs/BENCH.md
"""
from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ..errors import BadInput, DlgenError
from ..manifest import is_artifact, read_manifest
from ..text import quote
from .devices import Device, get_device
from .inputs import bind_batch, model_name, random_feeds
from .measure import MeasureConfig
from .specs import TargetSpec, parse_target_specs
from .stats import summarize

REFERENCE = "onnxruntime CPU (the original model)"
ACCURACY_ATOL, ACCURACY_RTOL = 1e-4, 1e-3
DEFAULT_TARGETS = ("c", "onnxruntime")
DEVICE_TARGETS = ("c",)           # on qemu-* and ssh:// devices only the C target runs

OnProgress = Callable[[str, str, float], None]   # (target label, phase, fraction)


@dataclass
class BenchReport:
    environment: dict
    model: dict
    config: dict
    results: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"environment": self.environment, "model": self.model, "config": self.config,
                "results": self.results}

    def row(self, target: str) -> dict | None:
        return next((r for r in self.results if r["target"] == target), None)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.results if r.get("error")]


def bench(model, targets: Sequence[str | TargetSpec] | None = None, *,
          inputs: Mapping[str, np.ndarray] | None = None, input_shapes=None,
          warmup: int = 5, warmup_time: float = 0.2, iterations: int = 20,
          duration: float = 1.0, mode: str = "latency", batch: int | None = None,
          threads: int = 1, device: str | Device = "host", seed: int = 0,
          keep_going: bool = False, on_progress: OnProgress | None = None,
          cc: str | None = None) -> BenchReport:
    """Benchmark ``model`` (an .onnx path, bytes, ModelProto or an artifact folder) on each
    target spec (see specs.py), default ``c`` and ``onnxruntime``.

    Warm-up runs until ``warmup`` calls and ``warmup_time`` seconds are both done; the timed
    phase until ``iterations`` calls and ``duration`` seconds. ``batch`` binds the inputs'
    leading dim (and counts samples per call for throughput). ``threads`` applies to every
    target whose spec does not set threads. With ``keep_going`` a target that fails to compile
    or run becomes a row with an ``error``, instead of raising.

    ``device``: ``host`` (default), ``qemu-aarch64``, ``qemu-arm``, ``ssh://user@host[:port]``
    or a Device; every device but the host runs the C target only (the default there), and
    ``cc`` names the compiler of its build (see devices.py).
    """
    from ..api import _shapes
    from . import environment

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise BadInput(f"--threads must be a whole number >= 1, not {threads!r}",
                       hint="e.g. --threads 2, or per target -t c:threads=2")
    config = MeasureConfig(warmup=warmup, warmup_time=warmup_time, iterations=iterations,
                           duration=duration, mode=mode, batch=batch or 1).check()
    dev = get_device(device, cc=cc)
    shapes = _shapes(input_shapes)
    artifact = _artifact_manifest(model)
    if artifact is not None:
        specs = _artifact_specs(artifact, targets, threads, shapes, batch)
    else:
        default = DEFAULT_TARGETS if dev.name == "host" else DEVICE_TARGETS
        specs = parse_target_specs(targets or default, threads=threads)
        shapes = bind_batch(model, shapes, batch)
    for spec in specs:
        dev.check_spec(spec)
    dev.check()
    report = BenchReport(environment={**environment.collect(), "device": dev.describe()},
                         model={}, config={**config.to_json(), "threads": threads,
                                           "device": dev.name, "seed": seed})
    with tempfile.TemporaryDirectory(prefix="dlgen-bench-") as tmp:
        work = Path(tmp)
        compiled = []
        for i, spec in enumerate(specs):
            if on_progress:
                on_progress(spec.label, "compile", 0.0)
            compiled.append(_compile(model, spec, work / f"{i}", shapes, artifact, keep_going))
        feeds = _feeds(model, inputs, shapes, seed, artifact, compiled)
        report.model = _model_info(model, artifact, compiled, feeds, inputs, seed, batch, shapes)
        reference, why_not = _reference(model, artifact, feeds, shapes)
        report.model["reference"] = REFERENCE if reference is not None else why_not
        np.savez(work / "inputs.npz", **feeds)
        for index, (spec, art) in enumerate(compiled):
            report.results.append(_measure_one(dev, spec, art, work / f"job-{index}", config,
                                               reference, keep_going, on_progress))
    report.environment["device"] = dev.describe()      # a remote board is known by now
    if report.failed and len(report.failed) == len(report.results):
        raise DlgenError("every target failed: " + "; ".join(
            f"{r['target']}: {r['error']}" for r in report.failed))
    return report


def _artifact_manifest(model) -> tuple[Path, dict] | None:
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if is_artifact(path):
            return path, read_manifest(path)
        if path.is_dir():
            raise BadInput(f"{quote(str(path))} is a folder but not a dlgen artifact (no "
                           f"dlgen.json)", hint="pass a model file or a folder written by "
                                                "`dlgen compile`")
    return None


def _artifact_specs(artifact, targets, threads, shapes, batch) -> list[TargetSpec]:
    """An artifact folder runs as compiled: its own target, kernels and threads."""
    path, manifest = artifact
    name = manifest["target"]
    opts = manifest.get("options", {})
    if shapes or batch:
        raise BadInput(f"{quote(str(path))} is compiled: its input shapes are fixed",
                       hint="drop --input-shape/--batch, or bench the .onnx model instead")
    provider = (opts.get("providers") or ["cpu"])[0] if name == "onnxruntime" else "cpu"
    fixed = TargetSpec(name, threads=int(opts.get("threads", threads) if name == "c" else threads),
                       kernels=opts.get("kernels", "portable"), provider=provider, text=name)
    if not targets:
        return [fixed]
    specs = parse_target_specs(targets, threads=fixed.threads)
    for spec in specs:
        if spec.name != name or (name == "c" and (spec.kernels, spec.threads)
                                 != (fixed.kernels, fixed.threads)) or (
                name == "onnxruntime" and spec.provider != fixed.provider):
            raise BadInput(f"{quote(str(path))} was compiled as {fixed.label}, and cannot run "
                           f"as -t {quote(spec.text or spec.label)}",
                           hint=f"drop -t, or bench the .onnx model with -t {spec.label}")
    return specs


def _compile(model, spec: TargetSpec, out: Path, shapes, artifact, keep_going):
    """(spec, {"path", "manifest", "compile_s"} or {"error"})."""
    from ..api import compile as compile_model, default_name

    if artifact is not None:
        return spec, {"path": artifact[0], "manifest": artifact[1], "compile_s": None}
    start = time.perf_counter()
    try:
        art = compile_model(model, spec.name, out, name=default_name(model),
                            input_shapes=shapes, options=spec.compile_options())
    except DlgenError as err:
        if not keep_going:
            raise type(err)(f"-t {spec.label}: {err.message}", hint=err.hint,
                            where=err.where) from err
        return spec, {"error": err.render()}
    return spec, {"path": art.path, "manifest": art.manifest,
                  "compile_s": time.perf_counter() - start}


def _feeds(model, inputs, shapes, seed, artifact, compiled) -> dict[str, np.ndarray]:
    manifest = next((a["manifest"] for _, a in compiled if "manifest" in a), None)
    if inputs is not None:
        return {k: np.asarray(v) for k, v in inputs.items()}
    if artifact is not None or manifest is None:
        return random_feeds((manifest or {}).get("inputs", []), seed)
    from ..api import make_inputs

    return make_inputs(model, input_shapes=shapes, seed=seed)


def _model_info(model, artifact, compiled, feeds, inputs, seed, batch, shapes) -> dict:
    manifest = next((a["manifest"] for _, a in compiled if "manifest" in a), {})
    return {
        "name": model_name(model),
        "path": str(model) if isinstance(model, (str, os.PathLike)) else None,
        "artifact": artifact is not None,
        "sha256": manifest.get("model", {}).get("sha256"),
        "inputs": [{"name": k, "dtype": str(v.dtype), "shape": list(v.shape)}
                   for k, v in feeds.items()],
        "outputs": manifest.get("outputs", []),
        "input_shapes": {k: list(v) for k, v in (shapes or {}).items()},
        "batch": batch or 1,
        "inputs_source": "given" if inputs is not None else f"random (seed {seed})",
    }


def _reference(model, artifact, feeds, shapes):
    """ONNX Runtime's outputs on the original model, or (None, why there are none)."""
    from ..targets.onnxruntime import OrtRunner

    source = model
    if artifact is not None:
        path, manifest = artifact
        if manifest["target"] != "onnxruntime":
            return None, "none: MODEL is a compiled artifact without its ONNX model"
        source = path / manifest["onnxruntime"]["model"]
    try:
        with OrtRunner(source, input_shapes=shapes, threads=1) as ref:
            return ref.run(feeds), None
    except DlgenError as err:
        return None, f"none: ONNX Runtime cannot run the model ({err.message})"


def _measure_one(dev, spec, art, work, config, reference, keep_going, on_progress) -> dict:
    row = _row(spec, dev, art)
    if "error" in art:
        return row
    work.mkdir()
    job = {"label": spec.label, "artifact": str(art["path"]),
           "inputs": str(work.parent / "inputs.npz"), "outputs": str(work / "outputs.npz"),
           "result": str(work / "result.json"),
           "threads": spec.threads, "measure": config.to_json()}
    progress = (lambda phase, fraction: on_progress(spec.label, phase, fraction)) \
        if on_progress else None
    try:
        raw = dev.run(job, progress)
    except DlgenError as err:
        if not keep_going:
            raise type(err)(f"-t {spec.label}: {err.message}", hint=err.hint,
                            where=err.where) from err
        row["error"] = err.render()
        return row
    with np.load(job["outputs"], allow_pickle=False) as data:
        got = {k: data[k] for k in data.files}
    latencies_ms = [t * 1e3 for t in raw["latencies_s"]]
    row.update(latency_ms=summarize(latencies_ms),
               throughput_per_s=len(latencies_ms) * config.batch / raw["wall_s"],
               iterations=len(latencies_ms), duration_s=raw["wall_s"],
               warmup={"calls": raw["warmup_calls"], "seconds": raw["warmup_s"]},
               peak_rss_bytes=raw["peak_rss_bytes"], rss_before_load_bytes=raw["rss_start_bytes"],
               accuracy=_accuracy(got, reference))
    if raw.get("providers"):
        row["providers"] = raw["providers"]
    return row


def _row(spec: TargetSpec, dev, art: dict) -> dict:
    manifest = art.get("manifest", {})
    row = {"target": spec.label, "target_name": spec.name, "options": spec.options(),
           "device": dev.name, "emulated": dev.emulated, "latency_ms": None,
           "throughput_per_s": None, "iterations": 0,
           "arena_bytes": manifest.get("arena_bytes"),
           "weights_bytes": manifest.get("weights_bytes"),
           "peak_rss_bytes": None, "accuracy": None, "compile_s": art.get("compile_s"),
           "error": art.get("error")}
    if "c" in manifest:
        row["build_flags"] = manifest["c"].get("build_flags")
        if dev.name != "host":       # the device's build, not the host runner's
            row["build_flags"] = getattr(dev, "cflags", row["build_flags"])
    return row


def _accuracy(got: dict, reference: dict | None) -> dict | None:
    """Max abs and max rel error of every output against the reference, and the worst."""
    from ..verify import compare

    if reference is None:
        return None
    per_output = {}
    for name, want in reference.items():
        if name not in got:
            continue
        check = compare(name, got[name], want, atol=ACCURACY_ATOL, rtol=ACCURACY_RTOL)
        per_output[name] = {"max_abs_err": _finite(check.max_abs_err),
                            "max_rel_err": _finite(check.max_rel_err),
                            "within_tolerance": check.ok}
    worst = lambda key: max((v[key] for v in per_output.values()),  # noqa: E731
                            key=lambda x: math.inf if x is None else x, default=0.0)
    return {"max_abs_err": worst("max_abs_err"), "max_rel_err": worst("max_rel_err"),
            "within_tolerance": all(v["within_tolerance"] for v in per_output.values()),
            "atol": ACCURACY_ATOL, "rtol": ACCURACY_RTOL, "outputs": per_output}


def _finite(x: float) -> float | None:
    """JSON has no infinity: an infinite error (shape mismatch, NaN vs number) becomes null."""
    return float(x) if math.isfinite(x) else None
