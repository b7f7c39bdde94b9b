"""ONNX Runtime sessions as dlgen configures them: options, offline optimization, and the record
of which execution provider ONNX Runtime assigned each node to.

The assignment is read from ``InferenceSession.get_provider_graph_assignment_info()`` (ONNX
Runtime >= 1.23, with the session config entry ``session.record_ep_graph_assignment_info=1``):
the nodes of the graph ONNX Runtime partitioned (after its optimizers), grouped by provider, with
their original names even where a provider compiled them into one fused node. Older onnxruntime
releases lack that call; there dlgen runs the model once with profiling on and reads each kernel
event's ``args.provider`` (a compiling provider then shows its fused node, not the nodes inside).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import BadModel
from ...text import ascii_safe

OPT_LEVELS = ("disable_all", "basic", "extended", "all")
_LEVEL_ATTR = {"disable_all": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC",
               "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}
NO_FALLBACK = "session.disable_cpu_ep_fallback"
RECORD_ASSIGNMENT = "session.record_ep_graph_assignment_info"
# Writing the optimized model with its initializers in a file beside it (names as in
# onnxruntime_session_options_config_keys.h); smaller initializers stay inside model.onnx.
EXTERNAL_FILE = "session.optimized_model_external_initializers_file_name"
EXTERNAL_MIN_SIZE = "session.optimized_model_external_initializers_min_size_in_bytes"
EXTERNAL_MIN_BYTES = 1024
COMPILED_NODES = "contains compiled nodes"
FALLBACK_DISABLED = "fallback to CPU EP has been explicitly disabled"


@dataclass
class SessionConfig:
    """Everything a session of an artifact needs besides the model file; stored in dlgen.json
    and written into the loader snippets."""

    providers: list[str]                                   # ONNX Runtime names, priority order
    provider_options: dict[str, dict[str, str]] = field(default_factory=dict)
    opt_level: str = "all"
    config_entries: dict[str, str] = field(default_factory=dict)
    threads: int = 0                                       # intra-op threads; 0: ORT decides

    def to_json(self) -> dict:
        return {"graph_optimization_level": self.opt_level,
                "intra_op_num_threads": self.threads,
                "config_entries": dict(self.config_entries)}

    @classmethod
    def from_manifest(cls, cfg: dict) -> "SessionConfig":
        sess = cfg.get("session_options", {})
        return cls(providers=list(cfg.get("providers") or ["CPUExecutionProvider"]),
                   provider_options={k: dict(v) for k, v in
                                     (cfg.get("provider_options") or {}).items()},
                   opt_level=sess.get("graph_optimization_level", "all"),
                   config_entries=dict(sess.get("config_entries", {})),
                   threads=int(sess.get("intra_op_num_threads", 0)))

    def provider_list(self) -> list:
        """What InferenceSession(providers=...) takes: names, or (name, options) pairs."""
        return [(p, self.provider_options[p]) if self.provider_options.get(p) else p
                for p in self.providers]

    def session_options(self, *, log_level: int = 3):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = log_level
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel,
                                                _LEVEL_ATTR[self.opt_level])
        if self.threads:
            opts.intra_op_num_threads = self.threads
        for key, value in self.config_entries.items():
            opts.add_session_config_entry(key, str(value))
        return opts


def create(model, cfg: SessionConfig, *, optimized_path: Path | None = None,
           ort_format: bool = False, external_data: str | None = None, record: bool = False,
           log_level: int = 3):
    """An InferenceSession of ``model`` (path or bytes) under ``cfg``; optionally writing the
    optimized model to ``optimized_path`` (ORT format when ``ort_format``; its initializers in
    the file ``external_data`` beside it when given). ONNX Runtime's errors propagate (callers
    translate them)."""
    import onnxruntime as ort

    opts = cfg.session_options(log_level=log_level)
    if record:
        opts.add_session_config_entry(RECORD_ASSIGNMENT, "1")
    if optimized_path is not None:
        opts.optimized_model_filepath = str(optimized_path)
        if ort_format:
            opts.add_session_config_entry("session.save_model_format", "ORT")
        if external_data:
            opts.add_session_config_entry(EXTERNAL_FILE, external_data)
            opts.add_session_config_entry(EXTERNAL_MIN_SIZE, str(EXTERNAL_MIN_BYTES))
    source = str(model) if isinstance(model, (str, os.PathLike)) else model
    return ort.InferenceSession(source, sess_options=opts, providers=cfg.provider_list())


def assignment(session, model=None, cfg: SessionConfig | None = None) -> dict:
    """{"method", "counts": {provider: nodes}, "nodes": [{name, op_type, domain, provider}]}."""
    getter = getattr(session, "get_provider_graph_assignment_info", None)
    if getter is not None:
        nodes = [{"name": n.name, "op_type": n.op_type, "domain": n.domain or "",
                  "provider": sub.ep_name}
                 for sub in getter() for n in sub.get_nodes()]
        method = "InferenceSession.get_provider_graph_assignment_info"
    else:
        nodes = _profiled_assignment(model, cfg)
        method = "profiling (one run; args.provider of each node event)"
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n["provider"]] = counts.get(n["provider"], 0) + 1
    return {"method": method, "counts": counts, "nodes": nodes}


def _profiled_assignment(model, cfg: SessionConfig) -> list[dict]:
    """Run once on zeros with profiling on; one entry per node event of the run."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="dlgen-ort-profile-") as tmp:
        opts = cfg.session_options()
        opts.enable_profiling = True
        opts.profile_file_prefix = str(Path(tmp) / "profile")
        source = str(model) if isinstance(model, (str, os.PathLike)) else model
        session = ort.InferenceSession(source, sess_options=opts, providers=cfg.provider_list())
        session.run(None, zero_feeds(session))
        events = json.loads(Path(session.end_profiling()).read_text())
    seen: dict[str, dict] = {}
    for ev in events:
        args = ev.get("args") or {}
        if ev.get("cat") == "Node" and "provider" in args:
            name = ev["name"].removesuffix("_kernel_time")
            seen.setdefault(name, {"name": name, "op_type": args.get("op_name", ""),
                                   "domain": "", "provider": args["provider"]})
    return list(seen.values())


_NP_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
             "tensor(double)": np.float64, "tensor(int64)": np.int64, "tensor(int32)": np.int32,
             "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_}


def zero_feeds(session) -> dict[str, np.ndarray]:
    return {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape],
                             _NP_TYPES.get(i.type, np.float32))
            for i in session.get_inputs()}


def ort_error(exc: Exception, what: str) -> BadModel:
    return BadModel(f"ONNX Runtime cannot {what}: {ascii_safe(str(exc), 500)}",
                    hint="check the model with `dlgen inspect`, or try another --opt-level")
