"""``--device qemu-aarch64`` / ``qemu-arm``: the generated C and its test bench (main.c),
cross-compiled with Debian's gcc-aarch64-linux-gnu / gcc-arm-linux-gnueabihf, linked statically
(so qemu-user needs no sysroot) and run under qemu-user on this machine.

The outputs are real: they come from Arm code and are checked against ONNX Runtime like any
other target's. The timings are emulated: qemu translates every Arm instruction into host code,
so they say nothing about the speed of a real board (the report marks them ``emulated``), and
peak RSS is not reported (it would be the emulator's).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError, DlgenError, TargetUnavailable
from ..manifest import read_manifest
from ..text import quote
from . import binary
from .devices import Device, Progress


@dataclass(frozen=True)
class Toolchain:
    cc: str
    emulator: str
    packages: str            # the Debian packages that provide cc and the emulator


TOOLCHAINS = {
    "qemu-aarch64": Toolchain("aarch64-linux-gnu-gcc", "qemu-aarch64",
                              "gcc-aarch64-linux-gnu qemu-user"),
    "qemu-arm": Toolchain("arm-linux-gnueabihf-gcc", "qemu-arm",
                          "gcc-arm-linux-gnueabihf qemu-user"),
}
CFLAGS = ["-O2", "-static"]


def tool_version(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else None


class QemuDevice(Device):
    """Cross-compile with ``cc`` (default: the Debian cross gcc) and run under qemu-user."""

    emulated = True

    def __init__(self, name: str, cc: str | None = None, cflags: list[str] | None = None):
        self.name = name
        self.toolchain = TOOLCHAINS[name]
        self.cc = cc or self.toolchain.cc
        self.cflags = list(cflags if cflags is not None else CFLAGS)

    def missing(self) -> list[str]:
        """The tools this device needs that are not installed."""
        tools = [self.cc.split()[0], self.toolchain.emulator, "make"]
        return [t for t in tools if shutil.which(t) is None]

    def check(self) -> None:
        missing = self.missing()
        if missing:
            raise TargetUnavailable(f"--device {self.name} needs {', '.join(missing)}, which "
                                    f"{'is' if len(missing) == 1 else 'are'} not installed",
                                    hint=f"apt-get install {self.toolchain.packages} make")

    def describe(self) -> dict:
        return {"name": self.name, "emulated": True, "cc": self.cc,
                "cc_version": tool_version([*self.cc.split(), "--version"]),
                "cflags": self.cflags, "emulator": self.toolchain.emulator,
                "emulator_version": tool_version([self.toolchain.emulator, "--version"]),
                "note": "timings under qemu-user emulation, not the speed of real hardware"}

    def run(self, job: dict, on_progress: Progress | None = None) -> dict:
        self.check()
        manifest = read_manifest(Path(job["artifact"]))
        binary.check_c_artifact(manifest, self.name)
        report = on_progress or (lambda phase, fraction: None)
        with tempfile.TemporaryDirectory(prefix=f"dlgen-{self.name}-") as tmp:
            folder = binary.stage(Path(job["artifact"]), Path(tmp) / "src")
            report("build", 0.0)
            self.build(folder, manifest)
            binary.write_inputs(manifest, job["inputs"], folder)
            report("measure", 0.0)
            cmd = [self.toolchain.emulator, f"./{binary.program_name(manifest)}",
                   *binary.arguments(manifest, job["measure"])]
            proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
            if proc.returncode != 0:
                raise DlgenError(f"{binary.program_name(manifest)} under {self.toolchain.emulator}"
                                 f" failed (exit status {proc.returncode}):\n"
                                 f"{(proc.stderr or proc.stdout).strip()[-2000:]}",
                                 hint="run `dlgen verify` on the model on the host first")
            report("measure", 1.0)
            binary.save_outputs(manifest, folder, job["outputs"])
            times = (folder / binary.TIMES_FILE).read_bytes()
        return binary.parse_result(proc.stdout, times, emulated=True)

    def build(self, folder: Path, manifest: dict) -> None:
        """``make main`` with the cross compiler: a static <prefix>_main."""
        ar = binary.cross_ar(self.cc)
        cmd = ["make", "-s", "main", f"CC={self.cc}", f"AR={ar}",
               f"CFLAGS={' '.join(self.cflags)}"]
        proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
        if proc.returncode != 0:
            log = (proc.stderr or proc.stdout).strip()[-3000:]
            raise BuildError(f"cross-compiling {quote(manifest['c']['prefix'])} for {self.name} "
                             f"with {self.cc} failed:\n{log}",
                             hint="this may be a dlgen bug (the C must be portable C99); "
                                  "please report it with the model")
