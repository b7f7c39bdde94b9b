"""The dlgen benchmark suite: `make bench` (or `python benchmarks/suite.py`).

For every model of benchmarks/suite_models.py it runs one `dlgen bench` command (printed, so
anyone can rerun a row) with the C target (portable kernels, and CBLAS when installed) and ONNX
Runtime (CPU) at 1 and 2 threads, measured in the same run on the same inputs; it times a `dlgen
compile` child process (codegen seconds and peak RSS, VmHWM) and measures the generated code's size.
It writes results/<model>.json (the `dlgen bench --json` report plus a "codegen" block),
results/summary.json, results/summary.png and the table of benchmarks/README.md.

    python benchmarks/suite.py                    # everything (minutes on a quiet machine)
    python benchmarks/suite.py --quick --models mlp_784_30_10 --threads 1 --out /tmp/r
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from suite_models import MODELS, write_model  # noqa: E402
from suite_report import summarize, write_chart, write_readme  # noqa: E402

from dlgen.targets.c import build  # noqa: E402

QUICK = ["--warm-up", "1", "--warm-up-time", "0", "--iterations", "3", "--duration", "0"]
FULL = ["--warm-up", "10", "--warm-up-time", "0.5", "--iterations", "50", "--duration", "2"]


def cblas_reason() -> str | None:
    """None when a CBLAS (cblas.h and a library) links here, else why not."""
    cc = build.find_compiler()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.c"
        src.write_text("#include <cblas.h>\nint main(void) { float a = 1, b = 1, c = 0;\n"
                       "  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f,"
                       " &a, 1, &b, 1, 0.0f, &c, 1);\n  return c == 1.0f ? 0 : 1; }\n")
        for lib in ("-lopenblas", "-lcblas", "-lblas"):
            proc = subprocess.run([*cc.split(), str(src), "-o", str(Path(tmp) / "t"), lib],
                                  capture_output=True, text=True)
            if proc.returncode == 0:
                return None
    return ("no CBLAS found (cblas.h with libopenblas, libcblas or libblas); install one, "
            "e.g. apt-get install libopenblas-dev")


def target_specs(threads: list[int], with_cblas: bool) -> list[str]:
    specs = []
    for t in threads:
        specs.append(f"c:threads={t}")
        if with_cblas:
            specs.append(f"c:kernels=cblas,threads={t}")
        specs.append(f"onnxruntime:threads={t}")
    return specs


# Runs the dlgen CLI and, at exit, writes the process's VmHWM (peak RSS of its own address
# space) to the file named first. wait4's ru_maxrss would include the size of this suite's
# process, which the child is a fork of until it execs (Linux carries that into ru_maxrss).
_PEAK_WRAPPER = """
import atexit, sys
from dlgen.bench.measure import peak_rss_bytes
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(str(peak_rss_bytes())))
from dlgen.cli import main
sys.argv[0] = "dlgen"
main()
"""


def timed_child(args: list[str], work: Path) -> tuple[int, float, int]:
    """Run `dlgen ARGS`; return (exit status, wall seconds, peak RSS bytes of that child)."""
    peak_file = work / "peak_rss.txt"
    peak_file.unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, str(peak_file), *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    try:
        peak = int(peak_file.read_text())
    except (OSError, ValueError):
        peak = None
    return proc.returncode, seconds, peak


def code_bytes(artifact: Path) -> int | None:
    """Sum of the .text sections of the generated model and runtime code at -O2 (weights are
    data, counted apart); None when binutils' `size` is missing."""
    cc = build.find_compiler()
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, src in enumerate(build.sources(artifact)):
            obj = Path(tmp) / f"{i}.o"
            subprocess.run([*cc.split(), "-std=c99", "-O2", "-c", *build.include_flags(artifact),
                            str(src), "-o", str(obj)], check=True, capture_output=True)
            try:
                out = subprocess.run(["size", "-A", str(obj)], capture_output=True, text=True,
                                     check=True).stdout
            except (OSError, subprocess.CalledProcessError):
                return None
            total += sum(int(line.split()[1]) for line in out.splitlines()
                         if line.startswith(".text"))
    return total


def codegen(model: Path, work: Path) -> dict:
    out = work / f"{model.stem}-c"
    status, seconds, rss = timed_child(["compile", str(model), "-t", "c", "-o", str(out),
                                        "--no-main"], work)
    if status != 0:
        return {"error": f"dlgen compile exited {status}"}
    manifest = json.loads((out / "dlgen.json").read_text())
    return {"seconds": seconds, "peak_rss_bytes": rss, "code_bytes": code_bytes(out),
            "weights_bytes": manifest.get("weights_bytes"),
            "arena_bytes": manifest.get("arena_bytes"),
            "weights_mode": manifest["c"]["weights_mode"]}


def bench_model(name: str, model: Path, out: Path, specs: list[str], timing: list[str]) -> dict:
    json_path = out / f"{name}.json"
    args = ["bench", str(model), *[a for s in specs for a in ("-t", s)], *timing,
            "--keep-going", "--json", str(json_path)]
    print("$ dlgen " + " ".join(shlex.quote(a) for a in args), flush=True)
    proc = subprocess.run([sys.executable, "-m", "dlgen.cli", *args], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    print(proc.stdout, end="", flush=True)
    if proc.returncode != 0 or not json_path.exists():
        return {"model": {"name": name}, "results": [],
                "error": f"dlgen bench exited {proc.returncode}"}
    return json.loads(json_path.read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few iterations (for tests)")
    ap.add_argument("--models", help="comma-separated subset of: " + ", ".join(MODELS))
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--out", default=str(HERE / "results"), help="results folder")
    ap.add_argument("--readme", default=str(HERE / "README.md"), help="README to write")
    args = ap.parse_args(argv)
    names = args.models.split(",") if args.models else list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    threads = [int(t) for t in args.threads.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    why_no_cblas = cblas_reason()
    skipped = {} if why_no_cblas is None else {
        f"c:kernels=cblas,threads={t}": why_no_cblas for t in threads}
    for spec, why in skipped.items():
        print(f"skipping {spec}: {why}", flush=True)
    specs = target_specs(threads, why_no_cblas is None)
    reports = {}
    with tempfile.TemporaryDirectory(prefix="dlgen-suite-") as tmp:
        work = Path(tmp)
        for name in names:
            model = write_model(name, work / "models")
            report = bench_model(name, model, out, specs, QUICK if args.quick else FULL)
            report["codegen"] = codegen(model, work)
            report["kind"] = MODELS[name][0]
            (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
            reports[name] = report
    summary = summarize(reports, skipped=skipped, quick=args.quick)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    chart = write_chart(summary, out / "summary.png")
    readme = write_readme(summary, Path(args.readme), chart)
    print(f"wrote {out / 'summary.json'}, {chart} and {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
