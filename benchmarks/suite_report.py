"""Aggregating the suite's per-model reports: summary.json, the PNG chart, the README table."""
from __future__ import annotations

from pathlib import Path

from dlgen.bench.report import fmt_bytes, fmt_ms, ort_row, ratio_vs_ort
from dlgen.bench.stats import geometric_mean

README_HEAD = """# dlgen benchmarks

Generated C (dlgen's `c` target) against ONNX Runtime's CPU execution provider, measured in
the same run, on the same inputs, with the same thread count. Produced by `make bench`
(`benchmarks/suite.py`), which runs one `dlgen bench` command per model (the command is
printed: rerun any row yourself) and writes `results/<model>.json`, `results/summary.json`
and `results/summary.png`. Schema and method: [docs/BENCH.md](../docs/BENCH.md).

Models: MLP 784-30-10, LeNet, embedding+LSTM and GRU (tiny: per-call overhead dominates);
the onnx package's `light_squeezenet`, `light_shufflenet`, `light_resnet50` and
`light_inception_v1` (real architectures, constant-filled weights), and a MobileNetV1-style
depthwise-separable network at width 0.5 (the CNNs). Batch 1, float32.

**ratio** = dlgen p50 / ONNX Runtime p50 at the same thread count: below 1 dlgen is faster.
Geometric means are over the CNNs and over the tiny models. Codegen: wall time and peak RSS
of a `dlgen compile -t c` child process. Code: `.text` of the generated model and runtime
code at -O2; weights counted apart.
"""


def _rows(name: str, report: dict) -> list[dict]:
    rows = []
    for r in report.get("results", []):
        if r.get("target_name") != "c":
            continue
        ref = ort_row(report, r)
        acc = r.get("accuracy") or {}
        rows.append({"model": name, "kind": report.get("kind"), "target": r["target"],
                     "kernels": r["options"].get("kernels"), "threads": r["options"]["threads"],
                     "p50_ms": (r.get("latency_ms") or {}).get("p50"),
                     "onnxruntime_p50_ms": (ref or {}).get("latency_ms", {}).get("p50"),
                     "ratio": ratio_vs_ort(report, r), "arena_bytes": r.get("arena_bytes"),
                     "peak_rss_bytes": r.get("peak_rss_bytes"),
                     "max_abs_err": acc.get("max_abs_err"), "error": r.get("error")})
    return rows


def _config(row: dict) -> str:
    return f"{row['kernels']}, {row['threads']} thread{'s' if row['threads'] != 1 else ''}"


def summarize(reports: dict, *, skipped: dict, quick: bool) -> dict:
    env = next((r["environment"] for r in reports.values() if "environment" in r), {})
    rows = [row for name, rep in reports.items() for row in _rows(name, rep)]
    geomean: dict = {}
    for kind in ("cnn", "tiny"):
        for config in dict.fromkeys(_config(r) for r in rows):
            ratios = [r["ratio"] for r in rows
                      if r["kind"] == kind and _config(r) == config and r["ratio"]]
            if ratios:
                geomean.setdefault(kind, {})[config] = {
                    "ratio": geometric_mean(ratios), "worst": max(ratios),
                    "models": len(ratios)}
    models = [{"model": name, "kind": rep.get("kind"), "codegen": rep.get("codegen"),
               "error": rep.get("error")} for name, rep in reports.items()]
    return {"machine": {k: env.get(k) for k in ("cpu", "cores", "os", "machine", "compiler",
                                                 "dlgen", "onnxruntime", "onnx", "numpy")},
            "quick": quick, "skipped": skipped, "models": models, "rows": rows,
            "geomean": geomean}


def write_chart(summary: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in summary["rows"]))
    configs = list(dict.fromkeys(_config(r) for r in summary["rows"]))
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.45 * max(1, len(models)) * max(1, len(configs))
                                    / 2))
    height = 0.8 / max(1, len(configs))
    for j, config in enumerate(configs):
        ys, xs = [], []
        for i, model in enumerate(models):
            row = next((r for r in summary["rows"]
                        if r["model"] == model and _config(r) == config and r["ratio"]), None)
            if row:
                ys.append(i + j * height)
                xs.append(row["ratio"])
        ax.barh(ys, xs, height=height, label=f"dlgen C ({config})")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(models))], models, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("p50 latency, dlgen / ONNX Runtime at the same thread count (log; < 1 faster)")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"dlgen vs ONNX Runtime on {summary['machine'].get('cpu')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _model_cells(summary: dict, name: str) -> list[str]:
    info = next(m for m in summary["models"] if m["model"] == name)
    cg = info.get("codegen") or {}
    if "seconds" not in cg:
        return ["-"] * 4
    return [fmt_bytes(cg.get("code_bytes")), fmt_bytes(cg.get("weights_bytes")),
            f"{cg['seconds']:.1f} s", fmt_bytes(cg.get("peak_rss_bytes"))]


def results_markdown(summary: dict, chart: str) -> str:
    m = summary["machine"]
    cores = m.get("cores") or {}
    lines = ["## Results", ""]
    if summary.get("quick"):
        lines += ["**Quick run (a few iterations): these figures are a smoke test, not a "
                  "measurement.**", ""]
    lines += [f"Machine: {m.get('cpu')}, {cores.get('usable')} of {cores.get('logical')} cores "
              f"usable, {m.get('os')}; {(m.get('compiler') or {}).get('version')}; dlgen "
              f"{m.get('dlgen')}, onnxruntime {m.get('onnxruntime')}.", ""]
    lines += ["| model | dlgen C | dlgen p50 ms | ORT p50 ms | ratio | arena | code | weights "
              "| codegen | codegen RSS |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary["rows"]:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        if r.get("error"):
            ratio = "error: " + str(r["error"]).splitlines()[0][:80].replace("|", "\\|")
        lines.append(f"| {r['model']} | {_config(r)} | {fmt_ms(r['p50_ms'])} | "
                     f"{fmt_ms(r['onnxruntime_p50_ms'])} | {ratio} | "
                     f"{fmt_bytes(r['arena_bytes'])} | " + " | ".join(
                         _model_cells(summary, r["model"])) + " |")
    lines += ["", "Geometric mean of the ratio, and the worst model:", "",
              "| models | dlgen C | geometric mean | worst | models |", "|---|---|---:|---:|---:|"]
    for kind, configs in summary["geomean"].items():
        for config, g in configs.items():
            lines.append(f"| {'CNNs' if kind == 'cnn' else 'tiny'} | {config} | "
                         f"{g['ratio']:.2f} | {g['worst']:.2f} | {g['models']} |")
    for spec, why in summary.get("skipped", {}).items():
        lines.append(f"\nSkipped `{spec}`: {why}.")
    lines += ["", f"![dlgen / ONNX Runtime p50 per model]({chart})", ""]
    return "\n".join(lines)


def write_readme(summary: dict | None, path: Path, chart: Path | None) -> Path:
    rel = "results/summary.png"
    if chart is not None:
        try:
            rel = str(Path(chart).resolve().relative_to(path.resolve().parent))
        except ValueError:
            rel = str(chart)
    body = (results_markdown(summary, rel) if summary else
            "## Results\n\nNot measured yet: run `make bench` on a quiet machine.\n")
    path.write_text(README_HEAD + "\n" + body)
    return path
