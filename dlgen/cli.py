"""The `dlgen` command line: parse arguments, call the Python API, print results.

Exit codes: 0 ok; 1 verification mismatch or benchmark regression; 2 bad input, unsupported
model or unavailable target; 3 internal error. User errors never print a traceback (--debug
shows one).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import click
import numpy as np

from . import __version__, api
from . import cli_onnxruntime as cli_ort
from .errors import BadInput, DlgenError
from .frontend import parse_input_shapes
from .text import ascii_safe, quote

INTERNAL_ERROR = 3


def _shown(path) -> str:
    """A path in a message: quoted and escaped, long enough to show the file name."""
    return quote(str(path), limit=240)


def _fail(err: DlgenError) -> None:
    click.echo(f"error: {err.render()}", err=True)
    if err.hint:
        click.echo(f"hint: {err.hint}", err=True)
    sys.exit(err.exit_code)


def handle_errors(fn):
    """Turn typed errors into a message and exit code; anything else is an internal error."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug"))
        try:
            return fn(*args, **kwargs)
        except DlgenError as err:
            if debug:
                traceback.print_exc()
            _fail(err)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            # The reader went away (`dlgen inspect m.onnx | head`): stop quietly, like `cat`.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if debug:
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("hint: this is a dlgen bug; rerun with --debug and report the traceback",
                       err=True)
            sys.exit(INTERNAL_ERROR)

    return wrapper


def _shapes(specs: tuple[str, ...]) -> dict | None:
    return parse_input_shapes(list(specs)) if specs else None


_NPZ_HINT = ("pass an .npz file with one array per model input, keyed by input name "
             "(numpy.savez('in.npz', input_name=array))")


def load_npz(path: str | None, what: str = "--inputs") -> dict[str, np.ndarray] | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"{what} file {_shown(path)} does not exist or is not a file",
                       hint=_NPZ_HINT)
    try:
        with open(p, "rb") as f:
            head = f.read(6)
    except OSError as exc:
        raise BadInput(f"cannot read {what} file {_shown(path)}: {exc.strerror or exc}",
                       hint=_NPZ_HINT) from None
    if head == b"\x93NUMPY":
        raise BadInput(f"{what} file {_shown(path)} is a .npy file (one unnamed array), "
                       f"not an .npz archive of named arrays", hint=_NPZ_HINT)
    if not head.startswith(b"PK"):
        raise BadInput(f"{what} file {_shown(path)} is not an .npz file (not a zip "
                       f"archive)", hint=_NPZ_HINT)
    try:
        with np.load(p, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # noqa: BLE001 - numpy raises many kinds for bad files
        raise BadInput(f"cannot read {what} file {_shown(path)} as .npz: "
                       f"{ascii_safe(str(exc), 300)}", hint=_NPZ_HINT) from None


def save_npz(path: str, arrays: dict[str, np.ndarray], what: str = "--outputs") -> str:
    """Write ``arrays`` to ``path`` (numpy adds .npz when missing); return the real path."""
    real = path if path.endswith(".npz") else path + ".npz"
    if os.path.isdir(path) or os.path.isdir(real):
        raise BadInput(f"{what} {_shown(path)} is a folder",
                       hint="pass a file name such as out.npz")
    try:
        np.savez(real, **arrays)
    except OSError as exc:
        raise BadInput(f"cannot write {what} file {_shown(real)}: {exc.strerror or exc}",
                       hint="pass a file name in a writable folder") from None
    return real


def _print_arrays(arrays: dict[str, np.ndarray]) -> None:
    for name, arr in arrays.items():
        preview = np.array2string(arr.ravel()[:6], precision=5, separator=", ")
        click.echo(f"  {quote(name)}: {arr.dtype} {list(arr.shape)} {preview}"
                   f"{' ...' if arr.size > 6 else ''}")


def parse_bounds(specs) -> dict[str, int]:
    """``["idx=100", "boxes=50"]`` -> ``{"idx": 100, "boxes": 50}`` (--bound)."""
    bounds: dict[str, int] = {}
    for spec in specs:
        name, sep, text = str(spec).rpartition("=")
        if not sep or not name.strip() or not text.strip().isdigit():
            raise BadInput(f"--bound {quote(spec)} is not NAME=N",
                           hint="write --bound VALUE_NAME=N with N a non-negative integer, "
                                "e.g. --bound selected_indices=100")
        bounds[name.strip()] = int(text)
    return bounds


input_shape_option = click.option(
    "--input-shape", "input_shapes", multiple=True, metavar="NAME=1x3x224x224",
    help="Bind an input's dynamic dims (repeatable).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlgen")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
def main(debug: bool) -> None:
    """dlgen: compile trained ONNX models to standalone C and other targets."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(name)s: %(message)s")


@main.command()
@click.argument("model")
@click.option("-t", "--target", default="c", show_default=True, help="c | onnxruntime")
@click.option("-o", "--output", required=True, help="Artifact folder to write.")
@click.option("--name", help="Name (C prefix) of the generated model; default: the file name.")
@input_shape_option
@click.option("--weights", type=click.Choice(["auto", "c", "inline", "bin"]), default="auto",
              show_default=True, help="C target: weights in NAME_weights.c, inline, or a .bin "
              "blob; auto = c up to 16 MiB, bin above.")
@click.option("--planner", type=click.Choice(["greedy", "linear"]), default="greedy",
              show_default=True, help="C target: arena planner.")
@click.option("--no-main", is_flag=True, help="C target: do not write the main.c test bench.")
@click.option("--kernels", type=click.Choice(["portable", "reference", "cblas"]),
              default="portable", show_default=True,
              help="C target: fast portable kernels with pre-packed weights, the readable "
              "reference kernels (smallest code, for microcontrollers), or GEMM-shaped work "
              "sent to a CBLAS (OpenBLAS by default; see --blas-libs).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="C target: threads of the fast kernels (see --parallel); 1 creates none.")
@click.option("--parallel", type=click.Choice(["auto", "openmp", "pthread"]), default="auto",
              show_default=True,
              help="C target with --threads N > 1: OpenMP, a pool of POSIX threads, or auto "
              "(OpenMP when the compiler links it, else POSIX threads).")
@click.option("--winograd", type=click.Choice(["auto", "on", "off"]), default="auto",
              show_default=True,
              help="C target, portable kernels: Winograd F(4x4,3x3) for 3x3 stride-1 "
              "convolutions where it measured faster (auto), wherever possible (on) or never.")
@click.option("--blas-libs", metavar="FLAGS",
              help="C target with --kernels cblas: link flags of the CBLAS (default "
              "-lopenblas; e.g. -lmkl_rt for Intel MKL).")
@click.option("--bound", "bounds", multiple=True, metavar="NAME=N",
              help="Lower the compile-time bound of the data-dependent dim of value NAME "
              "(NonZero, Unique, NonMaxSuppression... outputs; repeatable). A run that "
              "exceeds it fails with status -5.")
@cli_ort.compile_options
@handle_errors
def compile(model, target, output, name, input_shapes, weights, planner, no_main, kernels,
            threads, parallel, winograd, blas_libs, bounds, **ort_flags):
    """Compile MODEL for a target into an artifact folder."""
    options = ({"weights": weights, "planner": planner, "main": not no_main, "kernels": kernels,
                "threads": threads, "parallel": parallel, "winograd": winograd,
                "blas_libs": blas_libs}
               if target == "c" else {})
    options.update(cli_ort.options_from_cli(target, **ort_flags))
    if bounds:
        options["bounds"] = parse_bounds(bounds)
    art = api.compile(model, target, output, name=name, input_shapes=_shapes(input_shapes),
                      options=options)
    m = art.manifest
    click.echo(f"compiled {_shown(model)} for {m['target']} into {art.path}")
    if "arena_bytes" in m:
        click.echo(f"  arena {m['arena_bytes']} bytes (lower bound "
                   f"{m['arena_lower_bound_bytes']}), weights {m['weights_bytes']} bytes")
    if "c" in m:
        click.echo(f"  API in {m['c']['header']}: {', '.join(m['c']['entry_points'])}")
    cli_ort.print_compiled(m)


@main.command()
@click.argument("model")
@click.option("-t", "--target", help="Target when MODEL is an .onnx file (default c).")
@input_shape_option
@click.option("--inputs", "inputs_path", help=".npz of inputs keyed by input name "
              "(default: random inputs).")
@click.option("--outputs", "outputs_path", help="Write the outputs to this .npz.")
@click.option("--seed", default=0, show_default=True, help="Seed for random inputs.")
@handle_errors
def run(model, target, input_shapes, inputs_path, outputs_path, seed):
    """Run MODEL (an .onnx file or an artifact folder) on inputs."""
    feeds = load_npz(inputs_path)
    with api.load(model, target=target, input_shapes=_shapes(input_shapes)) as runner:
        if feeds is None:
            rng = np.random.default_rng(seed)
            feeds = {s.name: (rng.standard_normal(s.shape).astype(s.dtype)
                              if np.dtype(s.dtype).kind == "f" else
                              np.zeros(s.shape, s.dtype)) for s in runner.inputs}
            click.echo("inputs: random (pass --inputs in.npz to choose them)")
        outputs = runner.run(feeds)
    if outputs_path:
        written = save_npz(outputs_path, outputs)
        click.echo(f"wrote {len(outputs)} output(s) to {written}")
    click.echo(f"outputs ({runner.target}):")
    _print_arrays(outputs)


@main.command()
@click.argument("model")
@click.option("-t", "--target", default="c", show_default=True)
@input_shape_option
@click.option("--inputs", "inputs_path", help=".npz of inputs (default: seeded random inputs).")
@click.option("--atol", default=1e-4, show_default=True, type=float)
@click.option("--rtol", default=1e-3, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True)
@click.option("--per-node", is_flag=True,
              help="Also compare every intermediate value and name the first node that diverges.")
@handle_errors
def verify(model, target, input_shapes, inputs_path, atol, rtol, seed, per_node):
    """Compare MODEL on a target with ONNX Runtime (CPU); exit 1 on mismatch."""
    report = api.verify(model, target, inputs=load_npz(inputs_path), atol=atol, rtol=rtol,
                        input_shapes=_shapes(input_shapes), seed=seed, per_node=per_node)
    click.echo(f"verify {_shown(model)}: target {report.target} vs onnxruntime (atol {atol:g}, "
               f"rtol {rtol:g})")
    width = max([len(quote(o.name)) for o in report.outputs] + [6])
    click.echo(f"  {'output':<{width}}  {'shape':<16} {'max abs err':>12} {'max rel err':>12}  result")
    for o in report.outputs:
        result = "ok" if o.ok else f"MISMATCH ({o.mismatches} elements)"
        click.echo(f"  {quote(o.name):<{width}}  {str(list(o.shape)):<16} {o.max_abs_err:>12.3e} "
                   f"{o.max_rel_err:>12.3e}  {result}")
    if per_node:
        div = report.first_divergence
        if div is None:
            click.echo(f"per node: all {report.nodes_compared} intermediate values match")
        else:
            c = div.check
            click.echo(f"per node: first divergence at node {quote(div.node or '<unnamed>')} "
                       f"(op {div.op}), value {quote(c.name)} {list(c.shape)}: max abs err "
                       f"{c.max_abs_err:.3e}, max rel err {c.max_rel_err:.3e} "
                       f"({report.nodes_compared} values compared)")
    if not report.ok or (per_node and report.first_divergence is not None):
        click.echo("error: outputs differ from ONNX Runtime beyond the tolerances", err=True)
        sys.exit(1)
    click.echo("all outputs match")


@main.command()
@click.argument("model")
@input_shape_option
@click.option("--planner", type=click.Choice(["greedy", "linear"]), default="greedy")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@handle_errors
def inspect(model, input_shapes, planner, as_json):
    """Show MODEL's inputs, ops, parameters, FLOPs, memory plan and target support."""
    from .inspect import inspect_model

    info = inspect_model(model, input_shapes=_shapes(input_shapes), planner=planner)
    if as_json:
        click.echo(json.dumps(info.__dict__, indent=2))
        return
    click.echo(f"model {_shown(model)}")
    for kind, specs in (("input", info.inputs), ("output", info.outputs)):
        for s in specs:
            click.echo(f"  {kind:<6} {quote(s['name'])}: {s['dtype']} {s['shape']}")
    c, i = info.compiled, info.imported
    click.echo(f"  nodes {i['nodes']} imported, {c['nodes']} after passes")
    click.echo(f"  parameters {c['parameters']:,} ({c['weights_bytes']:,} bytes), "
               f"FLOPs {c['flops']:,} per inference")
    click.echo("  ops after passes: " + ", ".join(f"{k} x{v}" for k, v in c["ops"].items()))
    if info.c_support.get("supported"):
        m = info.memory
        click.echo(f"target c: supported; arena {m['arena_bytes']:,} bytes "
                   f"(lower bound {m['arena_lower_bound_bytes']:,}, {m['planner']} planner)")
        click.echo(m["plan"])
    else:
        why = info.c_support.get("reason") or "missing ops " + ", ".join(
            info.c_support["missing_ops"])
        click.echo(f"target c: not supported: {why}")
    ort = info.ort_support
    click.echo("target onnxruntime: " + ("supported (CPU session created)" if ort["supported"]
                                         else f"not supported: {ort['reason']}"))


@main.command()
@handle_errors
def targets():
    """List targets, ONNX Runtime providers, compilers and GPUs, with reasons."""
    from .targets import PLANNED, all_targets

    click.echo("targets:")
    for name, tgt in all_targets().items():
        ok, reason = tgt.availability()
        click.echo(f"  {name:<12} {'yes' if ok else 'no ':<4} {tgt.description}; {reason}")
    for name, reason in PLANNED.items():
        click.echo(f"  {name:<12} {'no':<4} {reason}")
    from .targets.c.registry import supported_ops

    ops = [op if not domain else f"{domain}::{op}" for domain, op in supported_ops()]
    click.echo(f"C target ops ({len(ops)}):")
    click.echo(textwrap.fill(", ".join(ops), width=96, initial_indent="  ",
                             subsequent_indent="  "))
    try:
        import onnxruntime as ort

        click.echo(f"onnxruntime {ort.__version__} providers: "
                   + ", ".join(ort.get_available_providers()))
        cli_ort.print_provider_table()
    except ImportError:
        click.echo("onnxruntime: not installed")
    click.echo("C compilers:")
    for cc in ("cc", "gcc", "clang", "aarch64-linux-gnu-gcc", "arm-linux-gnueabihf-gcc",
               "arm-none-eabi-gcc"):
        path = shutil.which(cc)
        click.echo(f"  {cc:<24} {_first_line([cc, '--version']) if path else 'not found'}")
    gpu = _first_line(["nvidia-smi", "-L"]) if shutil.which("nvidia-smi") else None
    click.echo(f"GPUs: {gpu or 'none found (nvidia-smi not available)'}")


@main.command()
@click.argument("model")
@click.option("-o", "--output", required=True, help="The quantized model to write (OUT.onnx).")
@click.option("--mode", type=click.Choice(["dynamic", "static"]), required=True,
              help="dynamic: int8 weights, activations quantized at run time; static: "
              "activation ranges from --calibration.")
@click.option("--calibration", "calibration_path", help=".npz with one array per model input "
              "and a leading sample axis (optional 'labels'); needed by --mode static.")
@click.option("--eval", "eval_path", help="Another .npz like --calibration to report the "
              "drift on.")
@click.option("--per-channel", is_flag=True, help="One scale per output channel of the weights.")
@click.option("--reduce-range", is_flag=True, help="7-bit weights: avoids the saturation of "
              "ONNX Runtime's u8s8 kernels on x86 CPUs without VNNI (helps --per-channel).")
@click.option("--format", "fmt", type=click.Choice(["qdq", "qoperator"]),
              help="--mode static: QuantizeLinear/DequantizeLinear pairs (qdq, default) or "
              "QLinear* ops (qoperator).")
@click.option("--report", "report_path", help="Write the report as JSON.")
@click.option("--seed", default=0, show_default=True, help="Seed of the random inputs used "
              "when no data is given.")
@handle_errors
def quantize(model, output, mode, calibration_path, eval_path, per_channel, reduce_range, fmt,
             report_path, seed):
    """Quantize MODEL to int8 with onnxruntime.quantization; report accuracy drift and speed."""
    from .targets.onnxruntime.quantize import quantize as run_quantize

    report = run_quantize(model, output, mode=mode, calibration=load_npz(calibration_path,
                                                                          "--calibration"),
                          eval_set=load_npz(eval_path, "--eval"), per_channel=per_channel,
                          fmt=fmt, reduce_range=reduce_range, seed=seed)
    cli_ort.print_quantize_report(report)
    if report_path:
        Path(report_path).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        click.echo(f"wrote {report_path}")


@main.command()
@click.argument("model")
@click.option("-t", "--target", "targets", multiple=True, metavar="TARGET[:OPTIONS]",
              help="Target to measure (repeatable; default -t c -t onnxruntime): c, "
              "c:kernels=cblas, c:threads=2, onnxruntime, onnxruntime:threads=2.")
@input_shape_option
@click.option("--inputs", "inputs_path", help=".npz of inputs (default: seeded random inputs).")
@click.option("--warm-up", "warmup", default=5, show_default=True, type=int,
              help="Untimed calls before measuring (at least).")
@click.option("--warm-up-time", "warmup_time", default=0.2, show_default=True, type=float,
              help="Seconds of untimed calls before measuring (at least).")
@click.option("--iterations", default=20, show_default=True, type=int,
              help="Timed calls (at least).")
@click.option("--duration", default=1.0, show_default=True, type=float,
              help="Seconds of timed calls (at least).")
@click.option("--mode", type=click.Choice(["latency", "throughput"]), default="latency",
              show_default=True, help="Lead with p50 latency or with samples per second.")
@click.option("--batch", type=int, help="Bind the inputs' leading dim to N; throughput counts "
              "N samples per call.")
@click.option("--threads", default=1, show_default=True, type=int,
              help="Threads of every target whose spec does not set threads.")
@click.option("--device", default="host", show_default=True,
              help="Where to run: host, qemu-aarch64, qemu-arm (emulated timings) or "
              "ssh://user@host[:port]; all but host run the C target only.")
@click.option("--cc", help="Compiler of a device build: qemu instead of the Debian cross gcc; "
              "ssh cross-compiles here with it instead of building on the board.")
@click.option("--seed", default=0, show_default=True, help="Seed for random inputs.")
@click.option("--json", "json_path", help="Write the report as JSON (schema: docs/BENCH.md).")
@click.option("--csv", "csv_path", help="Write one CSV row per target.")
@click.option("--markdown", "markdown_path", help="Write the table as Markdown.")
@click.option("--plot", "plot_path", help="Write a PNG: p50 with p99 whiskers, latency vs memory.")
@click.option("--baseline", "baseline_path", help="Earlier --json report to compare p50 with.")
@click.option("--max-regression", type=float, help="With --baseline: exit 1 when a target's "
              "p50 is more than PCT percent slower (default 10).")
@click.option("--keep-going", is_flag=True, help="Report a target that fails as an error row "
              "and measure the others.")
@handle_errors
def bench(model, targets, input_shapes, inputs_path, warmup, warmup_time, iterations, duration,
          mode, batch, threads, device, cc, seed, json_path, csv_path, markdown_path, plot_path,
          baseline_path, max_regression, keep_going):
    """Measure MODEL (an .onnx file or an artifact folder) on several targets: latency,
    throughput, memory and accuracy against ONNX Runtime, in one table."""
    from .bench import baseline as bl, report as rp
    from .bench.progress import BenchProgress

    if max_regression is not None and not baseline_path:
        raise BadInput("--max-regression needs --baseline old.json",
                       hint="pass the JSON of an earlier `dlgen bench --json` run")
    old = bl.load_baseline(baseline_path) if baseline_path else None
    if plot_path:
        rp._pyplot()                        # refuse before measuring when matplotlib is absent
    with BenchProgress() as progress:
        result = api_bench(model, list(targets) or None, inputs=load_npz(inputs_path),
                           input_shapes=_shapes(input_shapes), warmup=warmup,
                           warmup_time=warmup_time, iterations=iterations, duration=duration,
                           mode=mode, batch=batch, threads=threads, device=device, seed=seed,
                           keep_going=keep_going, on_progress=progress.update, cc=cc)
    data = result.to_dict()
    progress.console(stderr=False).print(rp.rich_table(data))
    for path, write in ((json_path, rp.write_json), (csv_path, rp.write_csv),
                        (markdown_path, rp.write_markdown), (plot_path, rp.write_plot)):
        if path:
            click.echo(f"wrote {write(data, path)}")
    if old is not None and _regressed(bl.compare_baseline(data, old, max_regression or 10.0),
                                      max_regression or 10.0):
        sys.exit(1)


@main.command("size")
@click.argument("outdir")
@click.option("--cpu", required=True, metavar="CPU",
              help="cortex-m0, cortex-m4, cortex-m7, cortex-m33, cortex-m55, cortex-a53 or host.")
@click.option("--cc", help="Compiler instead of the CPU's default (arm-none-eabi-gcc, "
              "aarch64-linux-gnu-gcc, the host's cc).")
@click.option("--opt", help="Optimization flag instead of the default (-Os for Cortex-M, -O2 "
              "otherwise), e.g. -O2.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
@handle_errors
def size_command(outdir, cpu, cc, opt, as_json):
    """Flash and RAM of the generated C in OUTDIR (from `dlgen compile -t c`) on a CPU:
    code, weights, arena, bss, data and a stack estimate (docs/CLI.md)."""
    from . import size as sz

    if cpu not in sz.CPUS:
        raise BadInput(f"unknown --cpu {quote(cpu)}", hint=f"choose one of {', '.join(sz.CPUS)}")
    report = sz.size_report(outdir, cpu, cc=cc, opt=opt)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(sz.rich_table(report))
    for line in sz.stack_lines(report):
        click.echo(line)


def api_bench(*args, **kwargs):
    from .bench.harness import bench as run_bench

    return run_bench(*args, **kwargs)


def _regressed(rows: list[dict], pct: float) -> bool:
    click.echo(f"baseline comparison (p50, regression threshold {pct:g}%):")
    for r in rows:
        if r["change_pct"] is None:
            why = "no p50 in this run" if r["p50_ms"] is None else "not in the baseline"
            click.echo(f"  {r['target']:<28} {why}")
            continue
        verdict = "REGRESSION" if r["regressed"] else "ok"
        click.echo(f"  {r['target']:<28} {r['baseline_p50_ms']:.4f} ms -> {r['p50_ms']:.4f} ms "
                   f"({r['change_pct']:+.1f}%)  {verdict}")
    bad = [r["target"] for r in rows if r["regressed"]]
    if bad:
        click.echo(f"error: p50 regressed by more than {pct:g}% for {', '.join(bad)}", err=True)
    return bool(bad)


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                             env={**os.environ, "LC_ALL": "C"})
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


if __name__ == "__main__":
    main()
