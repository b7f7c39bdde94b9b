"""Writing a benchmark report: JSON, CSV, Markdown, a rich table, and a PNG plot.

Every writer takes the report as a dict (``BenchReport.to_dict()`` or a loaded JSON file).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from ..errors import BadInput, TargetUnavailable
from ..text import quote
from .stats import SUMMARY_KEYS

CSV_COLUMNS = (["target", "device", "emulated"] + [f"{k}_ms" for k in SUMMARY_KEYS]
               + ["throughput_per_s", "iterations", "arena_bytes", "peak_rss_bytes",
                  "max_abs_err", "max_rel_err", "ratio_vs_onnxruntime", "error"])


def _write(path, text: str, what: str) -> Path:
    p = Path(path)
    if p.is_dir():
        raise BadInput(f"{what} {quote(str(path))} is a folder", hint="pass a file name")
    try:
        p.write_text(text)
    except OSError as exc:
        raise BadInput(f"cannot write {what} {quote(str(path))}: {exc.strerror or exc}",
                       hint="pass a file name in a writable folder") from None
    return p


def ort_row(report: dict, row: dict) -> dict | None:
    """The onnxruntime CPU row with the same thread count as ``row`` (None if absent)."""
    threads = row.get("options", {}).get("threads")
    for other in report["results"]:
        if (other.get("target_name") == "onnxruntime" and other.get("latency_ms")
                and other.get("options", {}).get("provider", "cpu") == "cpu"
                and other.get("options", {}).get("threads") == threads
                and other.get("device") == row.get("device")):
            return other
    return None


def ratio_vs_ort(report: dict, row: dict) -> float | None:
    """p50 of ``row`` over p50 of ONNX Runtime at the same thread count (< 1: faster)."""
    ref = ort_row(report, row)
    if ref is None or not row.get("latency_ms"):
        return None
    return row["latency_ms"]["p50"] / ref["latency_ms"]["p50"]


def write_json(report: dict, path) -> Path:
    return _write(path, json.dumps(report, indent=2, allow_nan=False) + "\n", "--json file")


def csv_rows(report: dict) -> list[dict]:
    rows = []
    for r in report["results"]:
        lat = r.get("latency_ms") or {}
        acc = r.get("accuracy") or {}
        row = {"target": r["target"], "device": r["device"], "emulated": bool(r.get("emulated")),
               **{f"{k}_ms": lat.get(k) for k in SUMMARY_KEYS},
               "throughput_per_s": r.get("throughput_per_s"), "iterations": r.get("iterations"),
               "arena_bytes": r.get("arena_bytes"), "peak_rss_bytes": r.get("peak_rss_bytes"),
               "max_abs_err": acc.get("max_abs_err"), "max_rel_err": acc.get("max_rel_err"),
               "ratio_vs_onnxruntime": ratio_vs_ort(report, r), "error": r.get("error") or ""}
        rows.append(row)
    return rows


def write_csv(report: dict, path) -> Path:
    p = Path(path)
    try:
        with open(p, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for row in csv_rows(report):
                writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    except (IsADirectoryError, OSError) as exc:
        raise BadInput(f"cannot write --csv file {quote(str(path))}: {exc.strerror or exc}",
                       hint="pass a file name in a writable folder") from None
    return p


def fmt_ms(x) -> str:
    """Milliseconds with 4 significant digits (1.234, 0.01234, 123.4), whole above 1000."""
    if x is None:
        return "-"
    return f"{x:.0f}" if x >= 1000 else f"{x:.4g}"


def fmt_bytes(n) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def fmt_err(x) -> str:
    return "-" if x is None else f"{x:.1e}"


def fmt_ratio(x) -> str:
    return "-" if x is None else f"{x:.2f}x"


def device_cell(row: dict) -> str:
    """The device, marked when its timings come from an emulator (qemu-user)."""
    return row["device"] + (" (emulated)" if row.get("emulated") else "")


def table_rows(report: dict) -> list[list[str]]:
    """The cells of the summary table, one list per target (shared by Markdown and rich)."""
    rows = []
    for r in report["results"]:
        lat = r.get("latency_ms") or {}
        acc = r.get("accuracy") or {}
        if r.get("error"):
            rows.append([r["target"], device_cell(r), "error: " + str(r["error"]).splitlines()[0]]
                        + ["-"] * (len(TABLE_HEADER) - 3))
            continue
        thr = r.get("throughput_per_s")
        rows.append([r["target"], device_cell(r), fmt_ms(lat.get("p50")), fmt_ms(lat.get("p90")),
                     fmt_ms(lat.get("p99")), fmt_ms(lat.get("mean")),
                     "-" if thr is None else f"{thr:,.1f}",
                     fmt_bytes(r.get("arena_bytes")), fmt_bytes(r.get("peak_rss_bytes")),
                     fmt_err(acc.get("max_abs_err")), fmt_err(acc.get("max_rel_err")),
                     fmt_ratio(ratio_vs_ort(report, r))])
    return rows


TABLE_HEADER = ["target", "device", "p50 ms", "p90 ms", "p99 ms", "mean ms", "per s", "arena",
                "peak RSS", "max abs err", "max rel err", "vs ORT"]


def caption(report: dict) -> str:
    env, model, cfg = report["environment"], report["model"], report.get("config", {})
    cores = env.get("cores", {})
    text = (f"{model.get('name')}: {cfg.get('mode', 'latency')} mode, batch "
            f"{model.get('batch', 1)}, on {env.get('cpu')} ({cores.get('usable')} of "
            f"{cores.get('logical')} cores usable), {env.get('os')}; dlgen {env.get('dlgen')}, "
            f"onnxruntime {env.get('onnxruntime')}, {(env.get('compiler') or {}).get('version')}")
    return text + device_note(env.get("device") or {})


def device_note(device: dict) -> str:
    """What the caption says about a device other than the host."""
    if device.get("emulated"):
        return (f"; device {device.get('name')}: EMULATED under {device.get('emulator')} "
                f"({device.get('cc')}), timings are not those of real hardware")
    if device.get("name", "host") != "host":
        return f"; device {device.get('name')} ({device.get('board') or 'remote board'})"
    return ""


def to_markdown(report: dict) -> str:
    lines = [f"Benchmark of {caption(report)}.", "",
             "| " + " | ".join(TABLE_HEADER) + " |",
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(TABLE_HEADER))) + "|"]
    for cells in table_rows(report):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", "Latency percentiles: MLPerf LoadGen's method (sorted samples, index "
              "floor(n*p)); vs ORT: p50 over ONNX Runtime's p50 at the same thread count; "
              "errors against ONNX Runtime on the original model.", ""]
    return "\n".join(lines)


def write_markdown(report: dict, path) -> Path:
    return _write(path, to_markdown(report), "--markdown file")


def rich_table(report: dict):
    from rich.table import Table

    table = Table(title=f"dlgen bench: {report['model'].get('name')}",
                  caption=caption(report), caption_justify="left")
    for i, head in enumerate(TABLE_HEADER):
        table.add_column(head, justify="left" if i < 2 else "right", no_wrap=i == 0)
    for cells in table_rows(report):
        table.add_row(*cells)
    return table


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise TargetUnavailable("--plot needs matplotlib, which is not installed",
                                hint="pip install 'dlgen[bench]' (or pip install matplotlib)"
                                ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plot(report: dict, path) -> Path:
    """Two panels: p50 bars with p99 whiskers per target; p50 latency against peak RSS."""
    plt = _pyplot()
    rows = [r for r in report["results"] if r.get("latency_ms")]
    labels = [r["target"] for r in rows]
    p50 = [r["latency_ms"]["p50"] for r in rows]
    p99 = [r["latency_ms"]["p99"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    left.bar(range(len(rows)), p50, yerr=[[0] * len(rows), [b - a for a, b in zip(p50, p99)]],
             capsize=4, color="#4878a8")
    left.set_xticks(range(len(rows)), labels, rotation=30, ha="right", fontsize=8)
    left.set_ylabel("latency (ms): p50, whisker to p99")
    left.set_title("latency per target")
    for r in rows:
        mem = r.get("peak_rss_bytes")
        if mem:
            right.scatter(mem / 2**20, r["latency_ms"]["p50"])
            right.annotate(r["target"], (mem / 2**20, r["latency_ms"]["p50"]), fontsize=7,
                           xytext=(3, 3), textcoords="offset points")
    right.set_xlabel("peak RSS of the benchmark process (MiB)")
    right.set_ylabel("p50 latency (ms)")
    right.set_title("latency against memory")
    fig.suptitle(f"dlgen bench: {report['model'].get('name')}", fontsize=10)
    fig.tight_layout()
    return _save_figure(fig, plt, path)


def _save_figure(fig, plt, path) -> Path:
    p = Path(path)
    try:
        fig.savefig(p, dpi=110)
    except OSError as exc:
        raise BadInput(f"cannot write --plot file {quote(str(path))}: {exc.strerror or exc}",
                       hint="pass a .png file name in a writable folder") from None
    finally:
        plt.close(fig)
    return p
