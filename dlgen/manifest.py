"""The artifact manifest ``dlgen.json``: what was compiled, how, and with what result."""
from __future__ import annotations

import json
from pathlib import Path

from . import __version__
from .errors import BadInput
from .ir import Graph
from .text import quote

MANIFEST = "dlgen.json"


def tensor_specs(graph: Graph, names: list[str]) -> list[dict]:
    """name, dtype, shape; values with data-dependent dims add ``dynamic`` (a bool per dim,
    True where ``shape`` is the upper bound and the run decides the size)."""
    specs = []
    for n in names:
        v = graph.values[n]
        spec = {"name": n, "dtype": v.dtype.name, "shape": list(v.shape)}
        if v.is_dynamic:
            spec["dynamic"] = [bool(d) for d in v.dynamic]
        specs.append(spec)
    return specs


def make_manifest(*, target: str, graph: Graph, source_sha256: str, source_name: str,
                  name: str, fields: dict) -> dict:
    ops = sorted({(n.domain or "ai.onnx") + "::" + n.op_type for n in graph.nodes})
    manifest = {
        "target": target,
        "dlgen_version": __version__,
        "name": name,
        "model": {"file": source_name, "sha256": source_sha256, "opset": graph.opset},
        "inputs": tensor_specs(graph, graph.inputs),
        "outputs": tensor_specs(graph, graph.outputs),
        "ops": ops,
    }
    specialized = [n for n in graph.inputs if graph.values[n].is_const]
    if specialized:
        manifest["specialized_inputs"] = specialized
    manifest.update(fields)
    return manifest


def write_manifest(outdir: Path, manifest: dict) -> None:
    (outdir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")


def is_artifact(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def read_manifest(artifact_dir: Path) -> dict:
    path = Path(artifact_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BadInput(f"{quote(str(artifact_dir))} is not a dlgen artifact (no {MANIFEST})",
                       hint="pass a folder written by `dlgen compile`, or an .onnx model") from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read {quote(str(path))}: {exc}",
                       hint="recompile the artifact with `dlgen compile`") from None
    for key in ("target", "inputs", "outputs"):
        if key not in manifest:
            raise BadInput(f"{quote(str(path))} lacks the field {key!r}",
                           hint="recompile the artifact with `dlgen compile`")
    return manifest
