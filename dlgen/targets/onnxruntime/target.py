"""The onnxruntime target: dlgen's passes, then ONNX Runtime's graph optimizer offline, for the
execution providers the user chose; an artifact folder a deployment loads as it is.

    OUT/model.onnx      the model after dlgen's passes and ONNX Runtime's optimizer
    OUT/model.onnx.data its initializers, for models with large weights (see external_data)
    OUT/model.ort       the same in ORT format, where the providers can load it (see dlgen.json)
    OUT/load_model.py   loader snippets: the session options and providers of this artifact
    OUT/load_model.cpp
    OUT/dlgen.json      providers, provider options, session options, and the provider ONNX
                        Runtime assigned each node to when the artifact was loaded

Offline optimization runs with the chosen providers at the chosen level. Providers that compile
nodes (OpenVINO, TensorRT...) cannot save an optimized model; then the offline pass is the
provider-independent ``basic`` level on the CPU provider and the session applies the chosen
level when it loads (dlgen.json says which happened).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import onnx

from ...errors import BadInput, TargetUnavailable, Unsupported
from ...ir import to_onnx
from ...text import quote
from ..base import Target
from . import providers as eps
from . import session as ortsess
from .runner import OrtRunner
from .session import SessionConfig
from .snippets import write_snippets

MODEL_FILE = "model.onnx"
ORT_FILE = "model.ort"
DATA_FILE = "model.onnx.data"
# Initializer bytes above which model.onnx keeps its weights in model.onnx.data: protobuf cannot
# serialize a message of 2 GiB or more, and the graph itself needs room too. Tests lower it
# with the environment variable below to exercise the external path on small models.
EXTERNAL_DATA_THRESHOLD = 1 << 30
THRESHOLD_ENV = "DLGEN_ORT_EXTERNAL_DATA_THRESHOLD"
DEFAULT_OPT_LEVEL = "extended"
USER_OPT_LEVELS = ("basic", "extended", "all")


class OrtTarget(Target):
    name = "onnxruntime"
    description = "ONNX Runtime session with execution providers (--ep)"
    fuse = False  # ORT fuses with its own optimizer; dlgen's fused ops are not standard ONNX
    wants_source_path = True  # options["source_path"]: does the source use external data?

    def availability(self) -> tuple[bool, str]:
        try:
            import onnxruntime as ort
        except ImportError:
            return False, "onnxruntime is not installed (pip install onnxruntime)"
        return True, f"onnxruntime {ort.__version__}, providers {', '.join(ort.get_available_providers())}"

    def compile(self, graph, outdir: Path, *, name: str, options: dict,
                source: str = "") -> dict:
        import onnxruntime as ort

        fallback = options.get("fallback")
        chosen = eps.select(options.get("providers") or ["cpu"], fallback)
        level = opt_level(options.get("opt_level") or DEFAULT_OPT_LEVEL)
        cpu = "CPUExecutionProvider"
        runtime = SessionConfig(
            providers=[p.ort_name for p in chosen],
            provider_options=provider_options(options.get("provider_options"), chosen),
            opt_level=level, threads=int(options.get("threads") or 0),
            config_entries={} if any(p.ort_name == cpu for p in chosen)
            else {ortsess.NO_FALLBACK: "1"})
        proto = to_onnx(graph)
        external = external_data_plan(proto, options.get("source_path"))
        with tempfile.TemporaryDirectory(prefix=".dlgen-input-", dir=outdir) as tmp:
            model = model_source(proto, Path(tmp), external)
            del proto
            offline = optimize_offline(model, runtime, outdir / MODEL_FILE,
                                       external_data=DATA_FILE if external else None)
        if external:
            external = finish_external_data(outdir, external)
        if offline["providers"] == runtime.providers and offline["level"] == level:
            runtime.opt_level = "disable_all"    # already optimized: loading skips the optimizer
        assignment = check_assignment(outdir / MODEL_FILE, runtime, chosen, fallback, len(graph.nodes))
        ort_format = write_ort_format(outdir, runtime, external)
        specs = [(graph.values[n].dtype.name, list(graph.values[n].shape)) for n in graph.inputs]
        snippets = write_snippets(outdir, name=name, cfg=runtime, model_file=MODEL_FILE,
                                  inputs=list(zip(graph.inputs, specs)), outputs=graph.outputs,
                                  data_file=external.get("file") if external else None)
        return {
            "onnxruntime": {
                "model": MODEL_FILE,
                "external_data": external,
                "ort_model": ort_format.get("file"),
                "ort_format": ort_format,
                "onnxruntime_version": ort.__version__,
                "providers": runtime.providers,
                "provider_options": runtime.provider_options,
                "requested_providers": _names(options),
                "fallback": fallback,
                "fallback_nodes": fallback_nodes(assignment, options) if fallback else [],
                "session_options": runtime.to_json(),
                "offline_optimization": offline,
                "assignment": assignment,
                "snippets": snippets,
            },
            "options": {"providers": [p.name for p in chosen], "opt_level": level,
                        "fallback": fallback, "precision": options.get("precision", "fp32")},
        }

    def runner(self, artifact_dir: Path, manifest: dict, *, threads: int = 0) -> OrtRunner:
        cfg = manifest["onnxruntime"]
        shapes = {d["name"]: tuple(d["shape"]) for d in manifest["inputs"]}
        sess = SessionConfig.from_manifest(cfg)
        return OrtRunner(Path(artifact_dir) / cfg["model"], providers=sess.providers,
                         provider_options=sess.provider_options, opt_level=sess.opt_level,
                         config_entries=sess.config_entries, input_shapes=shapes,
                         threads=threads or sess.threads)


def _names(options: dict) -> list[str]:
    return [eps.resolve(n).name for n in options.get("providers") or ["cpu"]]


def fallback_nodes(assignment: dict, options: dict) -> list[dict]:
    """The nodes ONNX Runtime gave to the CPU provider although the user did not ask for it."""
    if "cpu" in _names(options):
        return []
    return [n for n in assignment["nodes"] if n["provider"] == "CPUExecutionProvider"]


def opt_level(text: str) -> str:
    level = str(text).strip().lower()
    if level not in USER_OPT_LEVELS:
        raise BadInput(f"--opt-level {quote(str(text))} is not one of "
                       f"{', '.join(USER_OPT_LEVELS)}",
                       hint="basic: provider-independent rewrites; extended: plus ORT's fusions "
                            "(contrib ops); all: plus layout changes specific to this CPU")
    return level


def provider_options(given, chosen) -> dict[str, dict[str, str]]:
    """{ORT provider name: {key: value}} from {dlgen or ORT name: {key: value}}."""
    out: dict[str, dict[str, str]] = {}
    for name, opts in (given or {}).items():
        provider = eps.resolve(name)
        if provider not in chosen:
            raise BadInput(f"options for execution provider {provider.name!r}, which is not "
                           f"chosen with --ep",
                           hint=f"add --ep {provider.name}, or drop its --ep-option")
        out.setdefault(provider.ort_name, {}).update({str(k): str(v) for k, v in opts.items()})
    return out


def initializer_bytes(model: onnx.ModelProto) -> int:
    """The bytes of the main graph's initializers (their raw or typed data, as stored)."""
    return sum(t.ByteSize() for t in model.graph.initializer)


def _uses_external_data(path) -> bool:
    """Whether the model file at ``path`` keeps initializers in external data files."""
    if not path or not os.path.isfile(path):
        return False
    try:
        model = onnx.load(os.fspath(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - the frontend already read it; this is only a hint
        return False
    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)


def external_data_plan(model: onnx.ModelProto, source_path=None) -> dict | None:
    """Why model.onnx keeps its initializers in model.onnx.data, or None when it does not."""
    threshold = int(os.environ.get(THRESHOLD_ENV) or EXTERNAL_DATA_THRESHOLD)
    weights = initializer_bytes(model)
    if weights > threshold:
        why = (f"the initializers hold {weights:,} bytes, above {threshold:,}: protobuf cannot "
               f"write a model of 2 GiB or more in one file")
    elif _uses_external_data(source_path):
        why = "the source model keeps its initializers in external data"
    else:
        return None
    return {"file": DATA_FILE, "initializer_bytes": weights, "threshold": threshold,
            "large": weights > threshold, "why": why}


def model_source(model: onnx.ModelProto, tmp: Path, external: dict | None):
    """What ONNX Runtime loads: the serialized model, or (external data) a file whose
    initializers are in a data file beside it, so no protobuf of 2 GiB is ever built."""
    if not external:
        return model.SerializeToString()
    path = tmp / "input.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="input.onnx.data", size_threshold=ortsess.EXTERNAL_MIN_BYTES)
    return path


def finish_external_data(outdir: Path, external: dict) -> dict:
    """Record the data file ONNX Runtime wrote (none when every initializer was small)."""
    data = outdir / external["file"]
    if not data.is_file():
        return {**external, "file": None, "bytes": 0,
                "why": external["why"] + "; every initializer was under "
                       f"{ortsess.EXTERNAL_MIN_BYTES} bytes, so model.onnx holds them all"}
    return {**external, "bytes": data.stat().st_size,
            "min_size_in_bytes": ortsess.EXTERNAL_MIN_BYTES}


def optimize_offline(model, runtime: SessionConfig, path: Path, *,
                     external_data: str | None = None) -> dict:
    """Write ONNX Runtime's optimized model to ``path`` (its initializers in ``external_data``
    beside it when given); say with which providers and level."""
    try:
        ortsess.create(model, runtime, optimized_path=path, external_data=external_data,
                       log_level=4)
        return {"level": runtime.opt_level, "providers": list(runtime.providers)}
    except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
        text = str(exc)
        if ortsess.FALLBACK_DISABLED in text:
            raise _unclaimed(model, runtime) from None
        if ortsess.COMPILED_NODES not in text:
            raise ortsess.ort_error(exc, "optimize the model") from exc
    cpu = SessionConfig(providers=["CPUExecutionProvider"], opt_level="basic")
    try:
        ortsess.create(model, cpu, optimized_path=path, external_data=external_data,
                       log_level=4)
    except Exception as exc:  # noqa: BLE001
        raise ortsess.ort_error(exc, "optimize the model") from exc
    return {"level": "basic", "providers": cpu.providers,
            "note": f"{', '.join(_non_cpu(runtime.providers))} compile nodes, and ONNX Runtime cannot save "
                    f"a model with compiled nodes: the offline pass is the provider-independent "
                    f"basic level, and the session applies level {runtime.opt_level!r} when it "
                    f"loads"}


def _non_cpu(names: list[str]) -> list[str]:
    return [n for n in names if n != "CPUExecutionProvider"]


def check_assignment(path: Path, runtime: SessionConfig, chosen, fallback, node_count: int) -> dict:
    """Load the artifact as its users will and record where ONNX Runtime put each node.

    Refused: nodes no chosen provider takes (without --fallback cpu), and a chosen provider
    that takes no node at all (it failed to start, or supports none of the model's ops)."""
    try:
        sess = ortsess.create(path, runtime, record=True, log_level=4)
    except Exception as exc:  # noqa: BLE001
        if ortsess.FALLBACK_DISABLED in str(exc):
            raise _unclaimed(str(path), runtime) from None
        raise ortsess.ort_error(exc, "load the optimized model") from exc
    result = ortsess.assignment(sess, path, runtime)
    if node_count == 0 or not result["nodes"]:
        return result
    for provider in chosen:
        if provider.name != "cpu" and not result["counts"].get(provider.ort_name):
            if fallback is None:
                raise TargetUnavailable(
                    f"execution provider {provider.name!r} ({provider.ort_name}) took none of the "
                    f"model's {len(result['nodes'])} nodes: ONNX Runtime assigned them to "
                    f"{', '.join(result['counts'])}",
                    hint="the provider failed to start or supports none of these ops; see "
                         "`dlgen --debug compile` or choose another --ep")
    return result


def _unclaimed(model, runtime: SessionConfig) -> Unsupported:
    """The error for nodes that none of the chosen providers take (CPU fallback disabled)."""
    probe = SessionConfig(providers=runtime.providers + ["CPUExecutionProvider"],
                          provider_options=runtime.provider_options, opt_level=runtime.opt_level)
    try:
        sess = ortsess.create(model, probe, record=True, log_level=4)
        nodes = [n for n in ortsess.assignment(sess, model, probe)["nodes"]
                 if n["provider"] == "CPUExecutionProvider"]
    except Exception:  # noqa: BLE001 - the message below is still right without the list
        nodes = []
    listed = ", ".join(f"{quote(n['name'] or '<unnamed>')} ({n['op_type']})" for n in nodes[:12])
    more = f" and {len(nodes) - 12} more" if len(nodes) > 12 else ""
    names = ", ".join(runtime.providers)
    return Unsupported(
        f"{len(nodes) or 'some'} node(s) of the model are not supported by {names}"
        + (f": {listed}{more}" if nodes else ""),
        hint="pass --fallback cpu to run them on ONNX Runtime's CPU provider (dlgen.json then "
             "records which nodes fell back), or choose other --ep providers")


def write_ort_format(outdir: Path, runtime: SessionConfig, external: dict | None = None) -> dict:
    """model.ort beside model.onnx when the chosen providers load it; else why not."""
    if external and external["large"]:
        return {"file": None, "why": f"the initializers hold {external['initializer_bytes']:,} "
                                     f"bytes: the ORT format keeps them inside the one "
                                     f"flatbuffer file, which cannot exceed 2 GiB, and has no "
                                     f"external data; use model.onnx with {external['file']}"}
    target = outdir / ORT_FILE
    plain = SessionConfig(providers=["CPUExecutionProvider"], opt_level="disable_all")
    try:
        ortsess.create(outdir / MODEL_FILE, plain, optimized_path=target, ort_format=True,
                       log_level=4)
        ortsess.create(target, runtime, log_level=4)
    except Exception as exc:  # noqa: BLE001
        target.unlink(missing_ok=True)
        return {"file": None, "why": f"ONNX Runtime cannot save or load it with "
                                     f"{', '.join(runtime.providers)}: {str(exc)[:300]}"}
    return {"file": ORT_FILE, "loads_with": list(runtime.providers)}
