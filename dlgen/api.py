"""dlgen's Python API. The CLI is a thin shell over these functions.

    import dlgen
    art = dlgen.compile("model.onnx", target="c", output="out", name="digits")
    with dlgen.load("out") as runner:
        outputs = runner.run({"image": x})
    report = dlgen.verify("model.onnx", target="c")
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .compiler import build_graph
from .errors import BadInput
from .frontend import parse_input_shapes
from .fsutil import atomic_dir
from .manifest import is_artifact, make_manifest, read_manifest, write_manifest
from .targets import Runner, all_targets, get_target
from .targets.onnxruntime import OrtRunner
from .text import quote
from .verify import (VerifyReport, compare, first_divergence, random_inputs,
                     reference_intermediates)

ShapesArg = Mapping[str, Sequence[int]] | Sequence[str] | None


def _shown(path) -> str:
    """A path in a message: quoted and escaped, long enough to show the file name."""
    return quote(str(path), limit=240)


@dataclass
class Artifact:
    path: Path
    manifest: dict

    @property
    def target(self) -> str:
        return self.manifest["target"]

    def runner(self) -> Runner:
        return all_targets()[self.target].runner(self.path, self.manifest)


def _shapes(input_shapes: ShapesArg) -> dict[str, tuple[int, ...]] | None:
    if input_shapes is None:
        return None
    if isinstance(input_shapes, Mapping):
        return {k: tuple(int(d) for d in v) for k, v in input_shapes.items()}
    return parse_input_shapes(list(input_shapes))


def default_name(model) -> str:
    if isinstance(model, (str, os.PathLike)):
        return Path(model).stem or "model"
    return "model"


def compile(model, target: str = "c", output: str | os.PathLike | None = None, *,
            name: str | None = None, input_shapes: ShapesArg = None,
            options: Mapping | None = None,
            specialize: Mapping[str, np.ndarray] | None = None) -> Artifact:
    """Compile ``model`` (path, bytes or ModelProto) for ``target`` into the folder ``output``.

    ``specialize`` fixes the values of some inputs (e.g. axes or shapes fed as inputs): the
    compiler folds them as constants and the generated C checks that callers pass exactly
    those values (status -4 otherwise). ``options["bounds"]`` ({value name: max size}) lowers
    the compile-time bound of a data-dependent dim (NonZero, Unique...; status -5 when a run
    exceeds it).
    """
    if output is None:
        raise BadInput("no output folder given", hint="pass output=... (CLI: -o OUTDIR)")
    tgt = get_target(target)
    out = Path(output)
    _check_not_inside(model, out)
    name = name or default_name(model)
    with atomic_dir(out) as tmp:
        compiled = build_graph(model, input_shapes=_shapes(input_shapes),
                               fuse=getattr(tgt, "fuse", True), specialize=specialize,
                               bounds=(options or {}).get("bounds"),
                               precision=_precision(options))
        target_options = dict(options or {})
        if getattr(tgt, "wants_source_path", False) and isinstance(model, (str, os.PathLike)):
            target_options.setdefault("source_path", os.fspath(model))  # e.g. external data
        fields = tgt.compile(compiled.graph, tmp, name=name, options=target_options,
                             source=compiled.source_name)
        manifest = make_manifest(target=tgt.name, graph=compiled.graph,
                                 source_sha256=compiled.source_sha256,
                                 source_name=compiled.source_name, name=name, fields=fields)
        manifest["precision"] = _precision(options)
        write_manifest(tmp, manifest)
    return Artifact(out, manifest)


def _precision(options: Mapping | None) -> str:
    """options["precision"]: fp32 (default) or fp16 (passes/convert_float16.py, any target)."""
    from .passes import PRECISIONS

    precision = str((options or {}).get("precision") or "fp32").lower()
    if precision not in PRECISIONS:
        raise BadInput(f"precision {quote(precision)} is not one of {', '.join(PRECISIONS)}",
                       hint="--precision fp16 computes in float16 and keeps the I/O types")
    return precision


def _check_not_inside(model, out: Path) -> None:
    """Refuse to compile a model file into the folder that holds it: the folder is replaced."""
    if not isinstance(model, (str, os.PathLike)) or not out.is_dir():
        return
    try:
        inside = Path(model).resolve().is_relative_to(out.resolve())
    except OSError:
        return
    if inside:
        raise BadInput(f"the model {_shown(os.fspath(model))} is inside the output folder "
                       f"{_shown(out)}, which compiling would replace",
                       hint="choose an output folder that does not hold the model")


def load(path, *, target: str | None = None, input_shapes: ShapesArg = None,
         options: Mapping | None = None) -> Runner:
    """A runner for an artifact folder, or for a model compiled on the fly (default target c)."""
    p = Path(path) if isinstance(path, (str, os.PathLike)) else None
    if p is not None and is_artifact(p):
        manifest = read_manifest(p)
        if target and target != manifest["target"]:
            raise BadInput(f"{_shown(p)} was compiled for target {manifest['target']!r}, "
                           f"not {target!r}", hint="drop -t, or compile the model for that target")
        return all_targets()[manifest["target"]].runner(p, manifest)
    if p is not None and p.is_dir():
        raise BadInput(f"{_shown(p)} is a folder but not a dlgen artifact (no dlgen.json)",
                       hint="pass a model file or a folder written by `dlgen compile`")
    tmp = tempfile.TemporaryDirectory(prefix="dlgen-run-")
    art = compile(path, target or "c", Path(tmp.name) / "artifact",
                  input_shapes=input_shapes, options=options)
    runner = art.runner()
    runner._tmpdir = tmp  # the artifact lives as long as the runner
    return runner


def run(model, feeds: Mapping[str, np.ndarray], *, target: str | None = None,
        input_shapes: ShapesArg = None) -> dict[str, np.ndarray]:
    with load(model, target=target, input_shapes=input_shapes) as runner:
        return runner.run(feeds)


def make_inputs(model, *, input_shapes: ShapesArg = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs with the model's (bound) input dtypes and shapes."""
    return random_inputs(build_graph(model, input_shapes=_shapes(input_shapes), fuse=False).graph,
                         seed)


def verify(model, target: str = "c", *, inputs: Mapping[str, np.ndarray] | None = None,
           atol: float = 1e-4, rtol: float = 1e-3, input_shapes: ShapesArg = None,
           seed: int = 0, options: Mapping | None = None, per_node: bool = False) -> VerifyReport:
    """Run ``model`` on ``target`` and on ONNX Runtime (CPU) and compare every output.

    With ``per_node`` (C target), every intermediate value is compared too and the report
    names the first node whose output diverges.
    """
    if isinstance(model, (str, os.PathLike)) and is_artifact(Path(model)):
        return _verify_ort_artifact(Path(model), target, inputs, atol, rtol, seed)
    if per_node and target != "c":
        raise BadInput("per-node verification is available for the C target only",
                       hint="use -t c with --per-node")
    options = {**(options or {}), **({"probes": True} if per_node else {})}
    with load(model, target=target, input_shapes=input_shapes, options=options) as runner:
        if inputs is None:
            inputs = make_inputs(model, input_shapes=input_shapes, seed=seed)
        feeds = runner.check_feeds(inputs)
        if per_node:
            got, seen = runner.run_probed(feeds)
        else:
            got = runner.run(feeds)
    with OrtRunner(model) as reference:
        want = reference.run(feeds)
    report = VerifyReport(target, atol, rtol)
    for spec in runner.outputs:
        report.outputs.append(compare(spec.name, got[spec.name], want[spec.name],
                                      atol=atol, rtol=rtol))
    if per_node:
        probes = runner.manifest["c"]["probes"]
        ref = reference_intermediates(model, [p["name"] for p in probes], feeds)
        report.nodes_compared, report.first_divergence = first_divergence(
            probes, seen, ref, atol=atol, rtol=rtol)
    return report


def _verify_ort_artifact(path: Path, target: str, inputs, atol, rtol, seed) -> VerifyReport:
    """An onnxruntime artifact against its own model.onnx on the plain CPU provider: checks
    what the chosen execution providers compute. Other artifacts lack their ONNX model."""
    manifest = read_manifest(path)
    if manifest["target"] != "onnxruntime":
        raise BadInput("verify needs the original model, not a compiled artifact",
                       hint="run `dlgen verify MODEL.onnx -t TARGET`")
    if target not in ("c", "onnxruntime"):   # "c" is the CLI's default -t
        raise BadInput(f"{_shown(path)} was compiled for target 'onnxruntime', not {target!r}")
    with load(path) as runner:
        if inputs is None:
            rng = np.random.default_rng(seed)
            inputs = {s.name: (rng.standard_normal(s.shape).astype(s.dtype)
                               if np.dtype(s.dtype).kind == "f" else np.zeros(s.shape, s.dtype))
                      for s in runner.inputs}
        feeds = runner.check_feeds(inputs)
        got = runner.run(feeds)
    with OrtRunner(path / manifest["onnxruntime"]["model"]) as reference:
        want = reference.run(feeds)
    report = VerifyReport("onnxruntime:" + ",".join(manifest["onnxruntime"]["providers"]),
                          atol, rtol)
    for spec in runner.outputs:
        report.outputs.append(compare(spec.name, got[spec.name], want[spec.name],
                                      atol=atol, rtol=rtol))
    return report
