"""The onnxruntime parts of the command line: compile's --ep/--opt-level/--fallback/--ep-option,
--precision (every target), the provider table of `dlgen targets`, and `dlgen quantize`.

cli.py stays the thin shell; these helpers parse and print, and call the API.
"""
from __future__ import annotations

import click

from .errors import BadInput
from .text import quote


def compile_options(fn):
    """The compile options this module owns, added to `dlgen compile`."""
    decorators = [
        click.option("--ep", "eps", multiple=True, metavar="NAME",
                     help="onnxruntime: execution provider, repeatable, in priority order "
                     "(default cpu); names and aliases in `dlgen targets`."),
        click.option("--opt-level", type=click.Choice(["basic", "extended", "all"]),
                     help="onnxruntime: ONNX Runtime graph optimization level applied offline "
                     "(default extended; all adds layouts specific to this CPU)."),
        click.option("--fallback", metavar="cpu",
                     help="onnxruntime: let the CPU provider run nodes the chosen providers do "
                     "not take (recorded in dlgen.json); without it such nodes are refused."),
        click.option("--ep-option", "ep_options", multiple=True, metavar="EP:KEY=VALUE",
                     help="onnxruntime: a provider option, e.g. openvino:device_type=CPU "
                     "(repeatable)."),
        click.option("--precision", type=click.Choice(["fp32", "fp16"]), default="fp32",
                     show_default=True, help="Any target: fp16 computes in float16 (inputs and "
                     "outputs keep their types; precision-sensitive ops stay float32)."),
    ]
    for decorate in reversed(decorators):
        fn = decorate(fn)
    return fn


def options_from_cli(target: str, eps=(), opt_level=None, fallback=None, ep_options=(),
                     precision="fp32") -> dict:
    """compile options from the flags above; onnxruntime flags with another target are refused."""
    ort_flags = [flag for flag, given in (("--ep", eps), ("--opt-level", opt_level),
                                          ("--fallback", fallback), ("--ep-option", ep_options))
                 if given]
    options: dict = {}
    if precision and precision != "fp32":
        options["precision"] = precision
    if target != "onnxruntime":
        if ort_flags:
            raise BadInput(f"{', '.join(ort_flags)}: only for -t onnxruntime, not -t {target}",
                           hint="add -t onnxruntime, or drop the execution provider flags")
        return options
    if eps:
        options["providers"] = list(eps)
    if opt_level:
        options["opt_level"] = opt_level
    if fallback is not None:
        options["fallback"] = fallback
    if ep_options:
        options["provider_options"] = parse_ep_options(ep_options)
    return options


def parse_ep_options(specs) -> dict[str, dict[str, str]]:
    """``["openvino:device_type=CPU"]`` -> ``{"openvino": {"device_type": "CPU"}}``."""
    out: dict[str, dict[str, str]] = {}
    for spec in specs:
        provider, colon, rest = str(spec).partition(":")
        key, eq, value = rest.partition("=")
        if not colon or not eq or not provider.strip() or not key.strip():
            raise BadInput(f"--ep-option {quote(spec)} is not EP:KEY=VALUE",
                           hint="e.g. --ep-option openvino:device_type=CPU")
        out.setdefault(provider.strip(), {})[key.strip()] = value.strip()
    return out


def print_compiled(manifest: dict) -> None:
    """The providers and where ONNX Runtime put the nodes, after `dlgen compile`."""
    cfg = manifest.get("onnxruntime")
    if not cfg:
        return
    counts = cfg.get("assignment", {}).get("counts", {})
    total = sum(counts.values())
    click.echo(f"  providers {', '.join(cfg['providers'])}; ONNX Runtime graph optimization "
               f"offline: {cfg['offline_optimization']['level']}, at load: "
               f"{cfg['session_options']['graph_optimization_level']}")
    click.echo("  nodes by provider: " + (", ".join(f"{p} {n}/{total}" for p, n in counts.items())
                                          or "none"))
    fell = cfg.get("fallback_nodes") or []
    if fell:
        names = ", ".join(f"{quote(n['name'] or '<unnamed>')} ({n['op_type']})" for n in fell[:8])
        click.echo(f"  fallback: {len(fell)} node(s) run on the CPU provider: {names}"
                   + (" ..." if len(fell) > 8 else ""))
    files = [cfg["model"]] + ([cfg["ort_model"]] if cfg.get("ort_model") else [])
    files += list(cfg.get("snippets", {}).values())
    click.echo(f"  files: {', '.join(files)}")


def print_provider_table() -> None:
    """`dlgen targets`: every execution provider dlgen knows, installed or where to get it."""
    from .targets.onnxruntime.providers import table

    click.echo("onnxruntime execution providers (--ep NAME; -t onnxruntime:NAME in bench):")
    for row in table():
        aliases = f" (also {', '.join(row['aliases'])})" if row["aliases"] else ""
        state = "yes" if row["installed"] else "no "
        where = "installed" if row["installed"] else f"comes with {row['source']}"
        click.echo(f"  {row['name']:<9} {state} {row['ort_name']}{aliases}: {row['title']}; "
                   f"{where}")


def print_quantize_report(report) -> None:
    fmt = f", format {report.format}" if report.format else ""
    click.echo(f"quantized ({report.mode}{fmt}{', per channel' if report.per_channel else ''}) "
               f"{', reduce range' if report.reduce_range else ''} into {report.output}: "
               f"{report.fp32_bytes:,} -> {report.int8_bytes:,} bytes")
    for s in report.sets:
        line = (f"  {s.name}: {s.samples} samples, max abs err {s.max_abs_err:.4g}, "
                f"mean abs err {s.mean_abs_err:.4g}")
        if s.top1_agreement is not None:
            line += f", top-1 agreement {100 * s.top1_agreement:.2f}%"
        if s.accuracy_fp32 is not None:
            line += (f", accuracy fp32 {100 * s.accuracy_fp32:.2f}% int8 "
                     f"{100 * s.accuracy_int8:.2f}% ({-s.accuracy_drop_points:+.2f} points)")
        click.echo(line)
    click.echo(f"  latency p50 (1 thread, one sample, same run): fp32 {report.fp32_p50_ms:.4f} ms, "
               f"int8 {report.int8_p50_ms:.4f} ms, ratio int8/fp32 {report.speed_ratio:.3f}")
