"""The per-target child process: ``python -m dlgen.bench.worker JOB.json``.

Loads one artifact, runs it once on the given inputs (outputs saved for the accuracy check),
measures it (measure.py) and writes the result JSON named in the job. Progress goes to stdout
as JSON lines ``{"event": "progress", "phase": ..., "fraction": ...}``. Because every target
runs in its own process, ``peak_rss_bytes`` is that target's alone (plus the interpreter).

Job fields: artifact (folder), inputs (.npz), outputs (.npz to write), result (.json to write),
threads, measure (MeasureConfig fields).
"""
from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import numpy as np


def _emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def make_runner(artifact: Path, manifest: dict, threads: int):
    """The artifact's runner; ONNX Runtime sessions get ``threads`` intra-op threads."""
    if manifest["target"] == "onnxruntime":
        from ..targets.onnxruntime import OrtTarget

        # The artifact's providers, provider and session options; ``threads`` intra-op threads.
        return OrtTarget().runner(artifact, manifest, threads=threads)
    from ..targets import all_targets

    return all_targets()[manifest["target"]].runner(artifact, manifest)


def timed_call(runner, feeds: dict):
    """The call the loop times: what a user of each runtime calls per inference.

    C: the generated ``<prefix>_run`` through cffi on buffers bound once (inputs, and outputs
    allocated once), so the figure is the C code plus one foreign call. ONNX Runtime:
    ``session.run`` (it allocates its outputs). Anything else: the runner's own run.
    """
    session = getattr(runner, "session", None)
    if session is not None:
        names = [o.name for o in session.get_outputs()]
        return lambda: session.run(names, feeds)
    bind = getattr(runner, "bind", None)  # the C runner's pre-bound entry point
    bound = bind(feeds) if bind is not None else None
    return bound or (lambda: runner._run(feeds))


def run_job(job: dict) -> dict:
    from ..manifest import read_manifest
    from .measure import MeasureConfig, current_rss_bytes, measure, peak_rss_bytes

    rss_start = current_rss_bytes()
    artifact = Path(job["artifact"])
    manifest = read_manifest(artifact)
    config = MeasureConfig(**job["measure"])
    with np.load(job["inputs"], allow_pickle=False) as data:
        feeds_in = {k: data[k] for k in data.files}
    runner = make_runner(artifact, manifest, int(job["threads"]))
    with runner:
        feeds = runner.check_feeds(feeds_in)
        outputs = runner.run(feeds)
        np.savez(job["outputs"], **outputs)
        rss_loaded = current_rss_bytes()
        result = measure(timed_call(runner, feeds), config,
                         lambda phase, fraction: _emit({"event": "progress", "phase": phase,
                                                        "fraction": round(fraction, 4)}))
        session = getattr(runner, "session", None)
        providers = session.get_providers() if session is not None else None
    return {"latencies_s": result.latencies_s, "wall_s": result.wall_s,
            "warmup_calls": result.warmup_calls, "warmup_s": result.warmup_s,
            "peak_rss_bytes": peak_rss_bytes(), "rss_start_bytes": rss_start,
            "rss_loaded_bytes": rss_loaded, "providers": providers}


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    result_path = Path(job["result"])
    from ..errors import DlgenError

    try:
        result = run_job(job)
        status = 0
    except DlgenError as err:
        result = {"error": {"type": type(err).__name__, "message": err.message,
                            "hint": err.hint, "where": err.where}}
        status = 2
    except Exception as exc:  # noqa: BLE001 - reported to the parent as an internal error
        result = {"error": {"type": "internal", "message": f"{type(exc).__name__}: {exc}",
                            "hint": None, "traceback": traceback.format_exc()}}
        status = 3
    result_path.write_text(json.dumps(result))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
