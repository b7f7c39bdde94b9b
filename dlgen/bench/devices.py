"""Where a benchmark runs. A Device takes a job (artifact, inputs, measurement settings) and
returns the raw measurement; the harness never cares where that happened.

``host``: each target runs in a child Python process on this machine. ``qemu-aarch64`` and
``qemu-arm`` (qemu.py): the generated C, cross-compiled, under qemu-user (emulated timings).
``ssh://user@host[:port]`` (ssh.py): the generated C on a remote Linux board. The last three
run the C target's test bench (main.c; see binary.py) and only the C target.
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

DEVICES = {
    "host": "this machine, one child process per target",
    "qemu-aarch64": "cross-compiled C under qemu-user (aarch64)",
    "qemu-arm": "cross-compiled C under qemu-user (32-bit Arm, armhf)",
    "ssh://user@host[:port]": "the C target on a remote Linux board over SSH",
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

    def check(self) -> None:
        """Raise TargetUnavailable when a tool the device needs is missing."""

    def check_spec(self, spec) -> None:
        """Refuse, before anything is compiled, a target spec this device cannot run.
        Every device but the host runs the generated C's test bench: the C target only."""
        if self.name == "host":
            return
        if spec.name != "c":
            raise TargetUnavailable(
                f"--device {self.name}: only the C target runs on this device, not "
                f"-t {quote(spec.text or spec.label)}",
                hint="bench -t c on the device (the default there), and the other targets "
                     "with --device host")
        if spec.kernels == "cblas":
            raise TargetUnavailable(
                f"--device {self.name}: -t {quote(spec.text or spec.label)} needs a CBLAS, "
                f"which the device build does not link",
                hint="use -t c or -t c:kernels=reference on the device")


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


def get_device(text: str | Device, *, cc: str | None = None) -> Device:
    """``host`` (default), ``qemu-aarch64``, ``qemu-arm`` or ``ssh://user@host[:port]``.
    ``cc``: the C compiler of a device build (qemu: instead of the Debian cross gcc; ssh:
    cross-compile here instead of building on the board)."""
    if isinstance(text, Device):
        return text
    word = (text or "host").strip()
    if word == "host":
        if cc:
            raise BadInput("--cc names the compiler of a device build, and --device host "
                           "builds with the C target's own compiler",
                           hint="drop --cc, or set CC for the host's C runner")
        return HostDevice()
    if word in ("qemu-aarch64", "qemu-arm"):
        from .qemu import QemuDevice

        return QemuDevice(word, cc=cc)
    if word.startswith("ssh://"):
        from .ssh import SshDevice

        return SshDevice(word, cc=cc)
    raise BadInput(f"unknown --device {quote(word)}",
                   hint="devices: " + "; ".join(f"{k} ({v})" for k, v in DEVICES.items()))
