"""A real OpenSSH server on 127.0.0.1 for the ssh:// device tests: a generated host key, a
generated client key in authorized_keys, run as the current user (StrictModes no, UsePAM no).

    with local_sshd(tmp_path) as server:   # skips the test when sshd cannot start
        server.url          # ssh://user@127.0.0.1:PORT
        server.options      # ["-F", ssh_config]: identity, known_hosts; for DLGEN_SSH_OPTIONS
"""
from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"


@dataclass
class Server:
    url: str
    options: list[str]
    port: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path, kind: str = "ed25519") -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True,
                   capture_output=True)


def _config(folder: Path, port: int) -> Path:
    config = folder / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'host_key'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}", f"PidFile {folder / 'sshd.pid'}",
        "StrictModes no", "UsePAM no", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password", "LogLevel ERROR",
        f"Subsystem sftp {SFTP_SERVER}", ""]))     # scp (OpenSSH 9) copies over SFTP
    return config


def _client_config(folder: Path, port: int, user: str) -> Path:
    known = folder / "known_hosts"
    host_pub = (folder / "host_key.pub").read_text().split()
    known.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    config = folder / "ssh_config"
    config.write_text("\n".join([
        "Host 127.0.0.1", f"  User {user}", f"  IdentityFile {folder / 'client_key'}",
        "  IdentitiesOnly yes", f"  UserKnownHostsFile {known}",
        "  StrictHostKeyChecking yes", "  LogLevel ERROR", ""]))
    return config


def _wait_ready(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.skip(f"sshd cannot start here: {log.read_text().strip()[-500:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    pytest.skip("sshd did not listen within 10 s")


@contextlib.contextmanager
def local_sshd(folder: Path):
    for tool in (SSHD, "ssh", "scp", "ssh-keygen"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install openssh-server "
                        f"openssh-client)")
    folder.mkdir(parents=True, exist_ok=True)
    _keygen(folder / "host_key")
    _keygen(folder / "client_key")
    shutil.copyfile(folder / "client_key.pub", folder / "authorized_keys")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)    # privilege separation dir, needed as root
    user = getpass.getuser()
    port = free_port()
    config = _config(folder, port)
    log = folder / "sshd.log"
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                            stderr=open(log, "w"))
    try:
        _wait_ready(proc, port, log)
        options = ["-F", str(_client_config(folder, port, user))]
        probe = subprocess.run(["ssh", "-o", "BatchMode=yes", "-p", str(port), *options,
                                "127.0.0.1", "true"], capture_output=True, text=True, timeout=30)
        if probe.returncode != 0:
            pytest.skip(f"cannot log in to the local sshd: {probe.stderr.strip()[-500:]} "
                        f"{log.read_text().strip()[-500:]}")
        yield Server(url=f"ssh://{user}@127.0.0.1:{port}", options=options, port=port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
