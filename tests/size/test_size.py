"""`dlgen size OUTDIR --cpu CPU`: flash and RAM of generated C, checked against GNU size
(arm-none-eabi-size) of the same object files, on the digits example (examples/digits_mlp)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dlgen
from dlgen.size import CPUS

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits_mlp"


def dlgen_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlgen.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (apt-get install {package})")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """The digits example's model (its train.py), compiled to C with portable and with
    reference kernels, as `make -C examples/digits_mlp` does."""
    tmp = tmp_path_factory.mktemp("digits")
    subprocess.run([sys.executable, str(DIGITS / "train.py"), "--out", str(tmp)], check=True,
                   capture_output=True, timeout=600)
    arts = {}
    for kernels in ("portable", "reference"):
        proc = dlgen_cli("compile", tmp / "digits.onnx", "-t", "c", "-o", tmp / kernels,
                         "--name", "digits", "--kernels", kernels)
        assert proc.returncode == 0, proc.stderr
        arts[kernels] = tmp / kernels
    arts["tmp"] = tmp
    return arts


def gnu_size(artifact: Path, cc: str, flags: list[str], tool: str, out: Path) -> dict:
    """text/data/bss summed over the objects, compiled with the same compiler and flags."""
    from dlgen.targets.c.build import include_flags, sources

    out.mkdir()
    objects = []
    for i, src in enumerate(sources(artifact)):
        obj = out / f"{i}_{src.stem}.o"
        subprocess.run([cc, *flags, *include_flags(artifact), "-c", str(src), "-o", str(obj)],
                       check=True, cwd=out, capture_output=True)
        objects.append(str(obj))
    lines = subprocess.run([tool, *objects], check=True, capture_output=True,
                           text=True).stdout.splitlines()[1:]
    total = {"text": 0, "data": 0, "bss": 0}
    for line in lines:
        text, data, bss = map(int, line.split()[:3])
        total["text"] += text
        total["data"] += data
        total["bss"] += bss
    return total


def within(value: int, want: int, pct: float = 10.0) -> bool:
    return abs(value - want) <= want * pct / 100


def test_cortex_m4_report_matches_arm_none_eabi_size(digits, tmp_path):
    need("arm-none-eabi-gcc", "gcc-arm-none-eabi libnewlib-arm-none-eabi")
    proc = dlgen_cli("size", digits["portable"], "--cpu", "cortex-m4", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert "-mfpu=fpv4-sp-d16" in report["flags"] and "-mfloat-abi=hard" in report["flags"]
    gnu = gnu_size(digits["portable"], report["cc"], report["flags"], "arm-none-eabi-size",
                   tmp_path / "objs")
    flash, ram = report["flash"], report["ram"]
    assert within(flash["total"], gnu["text"] + gnu["data"])
    assert within(flash["code"] + flash["rodata"], gnu["text"])
    assert within(ram["arena"] + ram["other_bss"] + ram["data"], gnu["data"] + gnu["bss"])
    manifest = dlgen.manifest.read_manifest(digits["portable"])
    assert flash["weights"] == manifest["weights_bytes"] > 0
    assert ram["arena"] == manifest["arena_bytes"]
    stack = report["stack"]
    assert stack["chain"][:2] == ["digits_run", "digits_run_ctx"] and stack["bytes"] > 0
    assert ram["total"] == ram["arena"] + ram["other_bss"] + ram["data"] + stack["bytes"]
    assert report["kernels"] == "portable"


def test_reference_kernels_need_less_stack(digits):
    need("arm-none-eabi-gcc", "gcc-arm-none-eabi libnewlib-arm-none-eabi")
    sizes = {k: json.loads(dlgen_cli("size", digits[k], "--cpu", "cortex-m4", "--json").stdout)
             for k in ("portable", "reference")}
    assert sizes["reference"]["kernels"] == "reference"
    assert sizes["reference"]["stack"]["bytes"] < sizes["portable"]["stack"]["bytes"]


@pytest.mark.parametrize("cpu", sorted(CPUS))
def test_every_cpu_table(digits, cpu):
    spec = CPUS[cpu]
    if spec.cc:
        need(spec.cc, spec.package)
    proc = dlgen_cli("size", digits["reference"], "--cpu", cpu)
    assert proc.returncode == 0, proc.stderr
    assert "flash" in proc.stdout and "arena" in proc.stdout and "stack:" in proc.stdout


@pytest.mark.parametrize("what, needle", [
    ("not-artifact", "is not a dlgen artifact folder"),
    ("ort", "dlgen size measures generated C"),
    ("cpu", "unknown --cpu"),
])
def test_refusals_exit_2(digits, what, needle):
    tmp = digits["tmp"]
    if what == "ort":
        folder = tmp / "ort"
        if not folder.exists():
            dlgen.compile(tmp / "digits.onnx", "onnxruntime", folder)
    else:
        folder = tmp if what == "not-artifact" else digits["reference"]
    proc = dlgen_cli("size", folder, "--cpu", "cortex-m99" if what == "cpu" else "cortex-m4")
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "hint: " in proc.stderr and "Traceback" not in proc.stderr
