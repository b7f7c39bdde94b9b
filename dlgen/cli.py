"""The `dlgen` command line: parse arguments, call the Python API, print results.

Exit codes: 0 ok; 1 verification mismatch; 2 bad input, unsupported model or unavailable
target; 3 internal error. User errors never print a traceback (--debug shows one).
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
@handle_errors
def compile(model, target, output, name, input_shapes, weights, planner, no_main):
    """Compile MODEL for a target into an artifact folder."""
    options = {"weights": weights, "planner": planner, "main": not no_main} if target == "c" else {}
    art = api.compile(model, target, output, name=name, input_shapes=_shapes(input_shapes),
                      options=options)
    m = art.manifest
    click.echo(f"compiled {_shown(model)} for {m['target']} into {art.path}")
    if "arena_bytes" in m:
        click.echo(f"  arena {m['arena_bytes']} bytes (lower bound "
                   f"{m['arena_lower_bound_bytes']}), weights {m['weights_bytes']} bytes")
    if "c" in m:
        click.echo(f"  API in {m['c']['header']}: {', '.join(m['c']['entry_points'])}")


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
    click.echo(f"verify {_shown(model)}: target {target} vs onnxruntime (atol {atol:g}, "
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
    except ImportError:
        click.echo("onnxruntime: not installed")
    click.echo("C compilers:")
    for cc in ("cc", "gcc", "clang", "aarch64-linux-gnu-gcc", "arm-linux-gnueabihf-gcc",
               "arm-none-eabi-gcc"):
        path = shutil.which(cc)
        click.echo(f"  {cc:<24} {_first_line([cc, '--version']) if path else 'not found'}")
    gpu = _first_line(["nvidia-smi", "-L"]) if shutil.which("nvidia-smi") else None
    click.echo(f"GPUs: {gpu or 'none found (nvidia-smi not available)'}")


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                             env={**os.environ, "LC_ALL": "C"})
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


if __name__ == "__main__":
    main()
