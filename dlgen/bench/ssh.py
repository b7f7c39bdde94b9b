"""``--device ssh://user@host[:port]``: run the generated C's test bench (main.c) on a remote
Linux board over SSH, with the system ``ssh`` and ``scp``.

By default the board builds it: the artifact's sources go to a fresh ``mktemp -d`` folder on
the board, ``make main`` runs there with the board's ``cc`` (the board's architecture is not
known here), then the program. With ``cc`` (``dlgen bench --cc aarch64-linux-gnu-gcc``) it is
cross-compiled here, statically linked, and only run on the board. Outputs and timings come
back with scp; the folder on the board is removed afterwards.

Authentication is the user's SSH setup: keys, agent and ``~/.ssh/config``. ``BatchMode=yes``
means ssh never asks for a password or a host-key confirmation (add the board's host key to
known_hosts first). Extra ssh/scp options (``-i KEY``, ``-F CONFIG``, ``-o ...``) come from
the environment variable ``DLGEN_SSH_OPTIONS`` or the ``options`` argument.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import BadInput, BuildError, DlgenError, TargetUnavailable
from ..manifest import read_manifest
from ..text import quote
from . import binary
from .devices import Device, Progress

SSH_OPTIONS = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=20"]
CONNECTION_FAILED = 255           # ssh's exit status when it could not connect or log in
CROSS_CFLAGS = ["-O2", "-static"]  # static: the board's C library version does not matter


def parse_ssh_url(text: str) -> tuple[str | None, str, int | None]:
    """``ssh://user@host[:port]`` -> (user, host, port)."""
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError as exc:
        raise BadInput(f"--device {quote(text)}: {exc}",
                       hint="write ssh://user@host or ssh://user@host:2222") from None
    if url.scheme != "ssh" or not url.hostname or url.path not in ("", "/") or url.query \
            or url.password:
        raise BadInput(f"--device {quote(text)} is not ssh://user@host[:port]",
                       hint="e.g. --device ssh://pi@192.168.1.20 (keys, not passwords: "
                            "ssh runs with BatchMode=yes)")
    return url.username, url.hostname, port


class SshDevice(Device):
    emulated = False

    def __init__(self, url: str, *, cc: str | None = None, cflags: list[str] | None = None,
                 options: list[str] | None = None):
        self.user, self.host, self.port = parse_ssh_url(url)
        self.name = "ssh://" + (f"{self.user}@" if self.user else "") + (
            f"[{self.host}]" if ":" in self.host else self.host) + (
            f":{self.port}" if self.port else "")
        self.cc = cc
        self.cflags = list(cflags) if cflags is not None else (CROSS_CFLAGS if cc else ["-O2"])
        self.options = list(options) if options is not None else shlex.split(
            os.environ.get("DLGEN_SSH_OPTIONS", ""))
        self.board: str | None = None

    # -- ssh and scp -------------------------------------------------------------------------
    @property
    def _login(self) -> str:
        return (f"{self.user}@" if self.user else "") + self.host

    def _remote(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (f"{self.user}@" if self.user else "") + f"{host}:{path}"

    def ssh(self, command: str) -> subprocess.CompletedProcess:
        cmd = ["ssh", *SSH_OPTIONS, *(["-p", str(self.port)] if self.port else []),
               *self.options, self._login, command]
        return self._call(cmd)

    def scp(self, *paths: str, recursive: bool = False) -> None:
        cmd = ["scp", "-q", *SSH_OPTIONS, *(["-r"] if recursive else []),
               *(["-P", str(self.port)] if self.port else []), *self.options, *paths]
        proc = self._call(cmd)
        if proc.returncode != 0:
            self._failed(proc, "copying files")

    def _call(self, cmd: list[str]) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(cmd, capture_output=True, text=True)
        except OSError as exc:
            raise TargetUnavailable(f"--device {self.name}: cannot run {cmd[0]}: {exc}",
                                    hint="install the OpenSSH client (apt-get install "
                                         "openssh-client)") from None

    def _failed(self, proc: subprocess.CompletedProcess, doing: str):
        message = (proc.stderr or proc.stdout).strip()[-2000:] or f"exit status {proc.returncode}"
        if proc.returncode == CONNECTION_FAILED or doing == "connecting":
            raise TargetUnavailable(
                f"--device {self.name}: cannot connect to {self._login}"
                f"{f' port {self.port}' if self.port else ''}: {message}",
                hint="check that `ssh -o BatchMode=yes "
                     f"{f'-p {self.port} ' if self.port else ''}{self._login} true` works: a key "
                     "in ~/.ssh or the agent (no passwords), the host key in known_hosts; "
                     "extra ssh options go in DLGEN_SSH_OPTIONS")
        raise DlgenError(f"--device {self.name}: {doing} failed on {self.host}:\n{message}")

    # -- the Device --------------------------------------------------------------------------
    def check(self) -> None:
        missing = [t for t in ("ssh", "scp") if shutil.which(t) is None]
        if self.cc:
            missing += [t for t in (self.cc.split()[0], "make") if shutil.which(t) is None]
        if missing:
            raise TargetUnavailable(f"--device {self.name} needs {', '.join(missing)} here, "
                                    f"which {'is' if len(missing) == 1 else 'are'} not installed",
                                    hint="apt-get install openssh-client (and the cross "
                                         "compiler named by --cc)")

    def describe(self) -> dict:
        return {"name": self.name, "emulated": False, "host": self.host, "user": self.user,
                "port": self.port, "board": self.board,
                "build": (f"cross-compiled here with {self.cc}" if self.cc
                          else "on the board: make main with its cc"),
                "cflags": self.cflags}

    def run(self, job: dict, on_progress: Progress | None = None) -> dict:
        self.check()
        manifest = read_manifest(Path(job["artifact"]))
        binary.check_c_artifact(manifest, self.name)
        report = on_progress or (lambda phase, fraction: None)
        report("connect", 0.0)
        proc = self.ssh("uname -srm && mktemp -d /tmp/dlgen-bench.XXXXXX")
        if proc.returncode != 0:
            self._failed(proc, "connecting")
        self.board, remote = proc.stdout.strip().splitlines()[-2:]
        try:
            with tempfile.TemporaryDirectory(prefix="dlgen-ssh-") as tmp:
                return self._run_in(remote, Path(tmp), job, manifest, report)
        finally:
            self.ssh(f"rm -rf {shlex.quote(remote)}")

    def _run_in(self, remote: str, tmp: Path, job: dict, manifest: dict, report) -> dict:
        folder = binary.stage(Path(job["artifact"]), tmp / "src")
        binary.write_inputs(manifest, job["inputs"], folder)
        if self.cc:
            report("build", 0.0)
            self._cross_build(folder, manifest)
        report("copy", 0.0)
        self.scp(str(folder), self._remote(remote + "/"), recursive=True)
        program = binary.program_name(manifest)
        build = "" if self.cc else f"make -s main CFLAGS={shlex.quote(' '.join(self.cflags))} && "
        report("measure", 0.0)
        proc = self.ssh(f"cd {shlex.quote(remote + '/src')} && {build}./{program} "
                        + " ".join(map(shlex.quote, binary.arguments(manifest, job["measure"]))))
        if proc.returncode != 0:
            what = f"building and running {program}" if build else f"running {program}"
            self._failed(proc, what)
        report("measure", 1.0)
        back = tmp / "back"
        back.mkdir()
        names = binary.output_files(manifest) + [binary.TIMES_FILE]
        self.scp(*[self._remote(f"{remote}/src/{n}") for n in names], str(back))
        binary.save_outputs(manifest, back, job["outputs"])
        return binary.parse_result(proc.stdout, (back / binary.TIMES_FILE).read_bytes(),
                                   emulated=False)

    def _cross_build(self, folder: Path, manifest: dict) -> None:
        proc = subprocess.run(["make", "-s", "main", f"CC={self.cc}",
                               f"AR={binary.cross_ar(self.cc)}", f"CFLAGS={' '.join(self.cflags)}"],
                              cwd=folder, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError(f"cross-compiling {quote(manifest['c']['prefix'])} with {self.cc} "
                             f"failed:\n{(proc.stderr or proc.stdout).strip()[-3000:]}",
                             hint="check --cc; the board's own compiler is used without it")
