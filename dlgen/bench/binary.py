"""The generated C test bench (main.c) as a benchmark program, for the devices that run a
binary instead of a Python child process (qemu-aarch64, qemu-arm, ssh://).

The device stages the artifact's sources, builds ``<prefix>_main`` with the artifact's own
Makefile (``make main``), writes the inputs as raw files in graph order, runs

    <prefix>_main -i in0.bin ... -o out0.bin ... -w WARMUP -W WARMUP_S -n ITERATIONS -d SECONDS
                  -t times.bin

and reads back the outputs, ``times.bin`` (one double per timed run, in seconds) and the last
stdout line ``dlgen-bench: {...}`` (iterations, warmup_calls, warmup_s, wall_s, peak_rss_kib).
The timed call is ``<prefix>_run`` itself, as for the host's C runs (there without cffi).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ..errors import BadInput, DlgenError, TargetUnavailable
from ..text import quote

TIMES_FILE = "times.bin"
RESULT_PREFIX = "dlgen-bench: "
# Build outputs of a host build that must not travel with the sources.
BUILD_OUTPUTS = ("*.o", "*.a", "*.so", "*_main", "*.su", "*.ci")


def check_c_artifact(manifest: dict, device: str) -> None:
    """Only the C target runs on a device; its test bench (main.c) must have been written."""
    if manifest.get("target") != "c":
        raise TargetUnavailable(f"--device {device}: only the C target runs on a device, not "
                                f"{manifest.get('target')!r}",
                                hint="bench -t c on the device, or use --device host for the "
                                     "other targets")
    dynamic = [o["name"] for o in manifest.get("outputs", []) if any(o.get("dynamic", []))]
    if dynamic:
        raise TargetUnavailable(f"--device {device}: outputs with data-dependent shapes "
                                f"({', '.join(map(quote, dynamic))}) are not collected from a "
                                f"device yet", hint="use --device host for this model")


def stage(artifact: Path, dest: Path) -> Path:
    """Copy the artifact's sources (not a host build's objects) to ``dest``."""
    if not (artifact / "main.c").exists():
        raise BadInput(f"{quote(str(artifact))} has no main.c test bench, which a device runs",
                       hint="compile without --no-main")
    shutil.copytree(artifact, dest, ignore=shutil.ignore_patterns(*BUILD_OUTPUTS))
    return dest


def cross_ar(cc: str) -> str:
    """The archiver that goes with a cross compiler (aarch64-linux-gnu-gcc -> ...-ar), else ar."""
    head = Path(cc.split()[0]).name
    if head.endswith("gcc") and head != "gcc" and shutil.which(head[:-3] + "ar"):
        return head[:-3] + "ar"
    return "ar"


def program_name(manifest: dict) -> str:
    return f"{manifest['c']['prefix']}_main"


def write_inputs(manifest: dict, inputs_npz: str, dest: Path) -> list[str]:
    """The inputs as raw arrays in graph order (the manifest's dtype and shape)."""
    with np.load(inputs_npz, allow_pickle=False) as data:
        feeds = {k: data[k] for k in data.files}
    names = []
    for i, spec in enumerate(manifest["inputs"]):
        if spec["name"] not in feeds:
            raise BadInput(f"input {quote(spec['name'])} is missing",
                           hint=f"inputs: {', '.join(s['name'] for s in manifest['inputs'])}")
        arr = np.asarray(feeds[spec["name"]])
        if arr.size != int(np.prod(spec["shape"], dtype=np.int64)):
            raise BadInput(f"input {quote(spec['name'])} has shape {list(arr.shape)}; the "
                           f"artifact was compiled for {spec['shape']}")
        name = f"in{i}.bin"
        little = np.dtype(spec["dtype"]).newbyteorder("<")
        np.ascontiguousarray(arr, dtype=little).tofile(dest / name)
        names.append(name)
    return names


def output_files(manifest: dict) -> list[str]:
    return [f"out{i}.bin" for i in range(len(manifest["outputs"]))]


def arguments(manifest: dict, measure: dict) -> list[str]:
    """The test bench's command-line arguments for a job's measurement settings."""
    args = []
    for i in range(len(manifest["inputs"])):
        args += ["-i", f"in{i}.bin"]
    for name in output_files(manifest):
        args += ["-o", name]
    return args + ["-w", str(int(measure["warmup"])), "-W", repr(float(measure["warmup_time"])),
                   "-n", str(int(measure["iterations"])), "-d", repr(float(measure["duration"])),
                   "-t", TIMES_FILE]


def save_outputs(manifest: dict, folder: Path, npz_path: str) -> None:
    """Read the raw outputs written by the test bench into the job's .npz."""
    outs = {}
    for spec, name in zip(manifest["outputs"], output_files(manifest)):
        dtype = np.dtype(spec["dtype"]).newbyteorder("<")
        data = np.fromfile(folder / name, dtype=dtype)
        want = int(np.prod(spec["shape"], dtype=np.int64))
        if data.size != want:
            raise DlgenError(f"output {quote(spec['name'])}: the device wrote {data.size} "
                             f"elements, expected {want}")
        outs[spec["name"]] = data.astype(np.dtype(spec["dtype"])).reshape(spec["shape"])
    np.savez(npz_path, **outs)


def parse_result(stdout: str, times: bytes, *, emulated: bool) -> dict:
    """The worker-style result (see worker.py) from the bench program's stdout and times."""
    line = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith(RESULT_PREFIX)),
                None)
    if line is None:
        raise DlgenError("the benchmark program printed no result line",
                         hint=f"its output was:\n{stdout.strip()[-2000:]}")
    info = json.loads(line[len(RESULT_PREFIX):])
    latencies = np.frombuffer(times, dtype="<f8").tolist()
    if len(latencies) != info["iterations"]:
        raise DlgenError(f"the benchmark program timed {info['iterations']} runs but wrote "
                         f"{len(latencies)} times")
    rss = info.get("peak_rss_kib", -1)
    return {"latencies_s": latencies, "wall_s": info["wall_s"],
            "warmup_calls": info["warmup_calls"], "warmup_s": info["warmup_s"],
            # Under qemu-user the figure would be the emulator's own memory, not the program's.
            "peak_rss_bytes": None if emulated or rss < 0 else rss * 1024,
            "rss_start_bytes": None, "providers": None}
