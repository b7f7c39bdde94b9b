"""Where a benchmark runs. A Device takes a job (artifact, inputs, measurement settings) and
returns the raw measurement; the harness never cares where that happened.

Only ``host`` exists today: each target runs in a child Python process on this machine. The
cross-compiled and remote devices of the roadmap (qemu-aarch64, qemu-arm, ssh://user@host)
plug in here as further Device subclasses.
"""
from __future__ import annotations

import abc
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from .. import errors
from ..errors import BadInput, DlgenError, TargetUnavailable
from ..text import quote

PLANNED_DEVICES = {
    "qemu-aarch64": "cross-compiled C under qemu-user (aarch64)",
    "qemu-arm": "cross-compiled C under qemu-user (32-bit Arm)",
    "ssh": "a remote Linux board over SSH",
}

Progress = Callable[[str, float], None]


class Device(abc.ABC):
    name = "?"
    emulated = False

    @abc.abstractmethod
    def run(self, job: dict, on_progress: Progress | None = None) -> dict:
        """Run one measurement job; return the worker's result fields (see worker.py)."""

    def describe(self) -> dict:
        return {"name": self.name, "emulated": self.emulated}


class HostDevice(Device):
    """This machine: one child process per target, so peak RSS is per target."""

    name = "host"

    def run(self, job: dict, on_progress: Progress | None = None) -> dict:
        threads = str(job["threads"])
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
               "MKL_NUM_THREADS": threads, "BLIS_NUM_THREADS": threads,
               "PYTHONPATH": os.pathsep.join(filter(None, [_package_root(),
                                                           os.environ.get("PYTHONPATH")]))}
        with tempfile.TemporaryDirectory(prefix="dlgen-bench-job-") as tmp:
            job_file = Path(tmp) / "job.json"
            job_file.write_text(json.dumps(job))
            with open(Path(tmp) / "stderr.txt", "w+") as err:
                proc = subprocess.Popen([sys.executable, "-m", "dlgen.bench.worker",
                                         str(job_file)], stdout=subprocess.PIPE, stderr=err,
                                        text=True, env=env)
                for line in proc.stdout:
                    _progress_line(line, on_progress)
                status = proc.wait()
                err.seek(0)
                stderr = err.read()
        return _result(job, status, stderr)


def _package_root() -> str:
    return str(Path(__file__).resolve().parent.parent.parent)


def _progress_line(line: str, on_progress: Progress | None) -> None:
    try:
        event = json.loads(line)
    except ValueError:
        return                      # a library printed to stdout: not ours
    if on_progress and isinstance(event, dict) and event.get("event") == "progress":
        on_progress(event["phase"], float(event["fraction"]))


def _result(job: dict, status: int, stderr: str) -> dict:
    try:
        result = json.loads(Path(job["result"]).read_text())
    except (OSError, ValueError):
        tail = stderr.strip()[-2000:]
        raise DlgenError(f"the benchmark process for {quote(job['label'])} died (exit status "
                         f"{status}) without a result" + (f":\n{tail}" if tail else ""),
                         hint="rerun with --debug; if it crashed in generated code, run "
                              "`dlgen verify` on the model") from None
    if "error" in result:
        e = result["error"]
        cls = getattr(errors, e["type"], None)
        if not (isinstance(cls, type) and issubclass(cls, DlgenError)):
            raise DlgenError(f"benchmarking {quote(job['label'])} failed: {e['message']}"
                             + (f"\n{e['traceback']}" if e.get("traceback") else ""),
                             hint="this is probably a dlgen bug; please report it")
        raise cls(e["message"], hint=e.get("hint"), where=e.get("where"))
    return result


def get_device(text: str | Device) -> Device:
    """``host`` (default); the remote and emulated devices are refused until they exist."""
    if isinstance(text, Device):
        return text
    word = (text or "host").strip()
    if word == "host":
        return HostDevice()
    kind = "ssh" if word.startswith("ssh://") else word
    if kind in PLANNED_DEVICES:
        raise TargetUnavailable(f"--device {quote(word)}: benchmarking on {PLANNED_DEVICES[kind]} "
                                f"is not implemented in this dlgen version",
                                hint="use --device host (this machine)")
    raise BadInput(f"unknown --device {quote(word)}",
                   hint="use --device host (qemu-aarch64, qemu-arm and ssh://user@host are "
                        "planned)")
