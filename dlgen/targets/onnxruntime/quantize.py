"""`dlgen quantize`: int8 models through onnxruntime.quantization, with the evidence.

Pre-processing first (``quant_pre_process``: ONNX Runtime's optimizer plus shape inference),
then ``quantize_dynamic`` (int8 weights, activations quantized at run time) or
``quantize_static`` (activation ranges from a calibration set, MinMax; QDQ or QOperator format;
uint8 activations and int8 weights, the pairing ONNX Runtime's x86 and Arm kernels favour).

The calibration ``.npz`` holds one array per model input with a leading sample axis; an optional
``labels`` array (one class index per sample) adds top-1 accuracy. The report compares the
int8 model with the fp32 one on the calibration set and on the optional eval set (same layout):
max and mean absolute error of the first output, top-1 agreement, accuracy with labels; and the
int8/fp32 latency ratio, both models timed in the same run (one thread, one sample per call).

``reduce_range`` quantizes weights to 7 bits: on x86 CPUs without VNNI, ONNX Runtime's u8s8
kernels (VPMADDUBSW) can saturate, which hurts per-channel models most; 7-bit weights avoid it.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ...errors import BadInput, BadModel
from ...text import ascii_safe, quote

MODES = ("dynamic", "static")
FORMATS = ("qdq", "qoperator")
LABELS = "labels"


@dataclass
class SetReport:
    name: str
    samples: int
    max_abs_err: float
    mean_abs_err: float
    top1_agreement: float | None = None
    accuracy_fp32: float | None = None
    accuracy_int8: float | None = None

    @property
    def accuracy_drop_points(self) -> float | None:
        if self.accuracy_fp32 is None:
            return None
        return 100.0 * (self.accuracy_fp32 - self.accuracy_int8)


@dataclass
class QuantizeReport:
    output: str
    mode: str
    format: str | None
    per_channel: bool
    reduce_range: bool
    fp32_bytes: int
    int8_bytes: int
    sets: list[SetReport] = field(default_factory=list)
    fp32_p50_ms: float = 0.0
    int8_p50_ms: float = 0.0

    @property
    def speed_ratio(self) -> float:
        """int8 latency / fp32 latency (p50): below 1 means int8 is faster."""
        return self.int8_p50_ms / self.fp32_p50_ms if self.fp32_p50_ms else float("nan")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["speed_ratio_int8_over_fp32"] = self.speed_ratio
        for s, obj in zip(d["sets"], self.sets):
            s["accuracy_drop_points"] = obj.accuracy_drop_points
        return d


def quantize(model, output, *, mode: str, calibration: dict | None = None,
             eval_set: dict | None = None, per_channel: bool = False,
             fmt: str | None = None, reduce_range: bool = False, seed: int = 0) -> QuantizeReport:
    """Quantize ``model`` (a path) to ``output``; see the module docstring."""
    mode, fmt = _check_args(mode, fmt, calibration)
    source = Path(os.fspath(model))
    if not source.is_file():
        raise BadInput(f"model {quote(str(source), 240)} does not exist or is not a file")
    output = Path(output)
    if output.is_dir():
        raise BadInput(f"-o {quote(str(output), 240)} is a folder", hint="pass a file OUT.onnx")
    fp32 = _session(source)
    inputs = [(i.name, i.shape) for i in fp32.get_inputs()]
    calib = _samples(calibration, inputs, "--calibration") if calibration is not None else None
    evals = _samples(eval_set, inputs, "--eval") if eval_set is not None else None
    with tempfile.TemporaryDirectory(prefix="dlgen-quantize-") as tmp:
        pre = Path(tmp) / "preprocessed.onnx"
        _preprocess(source, pre)
        _run_quantizer(pre, output, mode, fmt, per_channel, reduce_range, calib)
    int8 = _session(output)
    report = QuantizeReport(str(output), mode, fmt, per_channel, reduce_range,
                            source.stat().st_size, output.stat().st_size)
    sets = [("calibration", calib), ("eval", evals)]
    if calib is None and evals is None:
        sets = [("random inputs (seed %d)" % seed, (_random(fp32, seed), None))]
    for name, data in sets:
        if data is not None:
            report.sets.append(_compare(name, fp32, int8, *data))
    first = (calib or evals or sets[0][1])[0][0]
    report.fp32_p50_ms, report.int8_p50_ms = _timings(fp32, int8, first)
    return report


def _check_args(mode, fmt, calibration) -> tuple[str, str | None]:
    mode = str(mode).lower()
    if mode not in MODES:
        raise BadInput(f"--mode {quote(str(mode))} is not dynamic or static")
    if mode == "dynamic":
        if fmt is not None:
            raise BadInput("--format applies to --mode static only",
                           hint="dynamic quantization writes MatMulInteger/ConvInteger with "
                                "DynamicQuantizeLinear; drop --format")
        return mode, None
    fmt = str(fmt or "qdq").lower()
    if fmt not in FORMATS:
        raise BadInput(f"--format {quote(fmt)} is not qdq or qoperator")
    if calibration is None:
        raise BadInput("--mode static needs --calibration data.npz",
                       hint="an .npz with one array per model input, with a leading sample "
                            "axis (a few hundred representative samples)")
    return mode, fmt


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=opts,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001
        raise BadModel(f"ONNX Runtime cannot load {quote(str(path), 240)}: "
                       f"{ascii_safe(str(exc), 400)}") from exc


def _samples(arrays: dict, inputs, what: str) -> tuple[list[dict], np.ndarray | None]:
    """Per-sample feeds from arrays with a leading sample axis; and the labels, if any."""
    missing = [n for n, _ in inputs if n not in arrays]
    if missing:
        raise BadInput(f"{what} lacks the model input(s) {', '.join(quote(n) for n in missing)}",
                       hint="one array per model input keyed by its name, with a leading "
                            "sample axis; optionally 'labels'")
    counts = {len(arrays[n]) for n, _ in inputs}
    if len(counts) != 1:
        raise BadInput(f"{what}: the input arrays hold different numbers of samples ({counts})")
    count = counts.pop()
    feeds = []
    for i in range(count):
        feed = {}
        for name, shape in inputs:
            arr = np.asarray(arrays[name])
            sample = arr[i] if arr.ndim == len(shape) + 1 else arr[i:i + 1]
            if sample.ndim != len(shape):
                raise BadInput(f"{what}: {quote(name)} has shape {list(arr.shape)}; the model "
                               f"input has rank {len(shape)}",
                               hint="stack samples on a new leading axis (or along a batch dim "
                                    "of size 1)")
            feed[name] = sample
        feeds.append(feed)
    labels = arrays.get(LABELS)
    if labels is not None and len(labels) != count:
        raise BadInput(f"{what}: {len(labels)} labels for {count} samples")
    return feeds, None if labels is None else np.asarray(labels).reshape(count)


def _preprocess(source: Path, out: Path) -> None:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(str(source), str(out))
    except Exception:  # noqa: BLE001 - symbolic shape inference fails on some models: retry
        try:
            quant_pre_process(str(source), str(out), skip_symbolic_shape=True)
        except Exception as exc:  # noqa: BLE001
            raise BadModel(f"onnxruntime.quantization cannot pre-process the model: "
                           f"{ascii_safe(str(exc), 400)}") from exc


def _run_quantizer(pre: Path, out: Path, mode, fmt, per_channel, reduce_range, calib) -> None:
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self, feeds):
            self._it = iter(feeds)

        def get_next(self):
            return next(self._it, None)

    try:
        if mode == "dynamic":
            quantize_dynamic(str(pre), str(out), per_channel=per_channel,
                             reduce_range=reduce_range, weight_type=QuantType.QInt8)
        else:
            quantize_static(str(pre), str(out), Reader(calib[0]),
                            quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
                            per_channel=per_channel, reduce_range=reduce_range,
                            activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8)
    except Exception as exc:  # noqa: BLE001
        raise BadModel(f"onnxruntime.quantization failed: {ascii_safe(str(exc), 400)}") from exc


def _random(session, seed: int) -> list[dict]:
    from .session import zero_feeds

    rng = np.random.default_rng(seed)
    shapes = zero_feeds(session)
    return [{k: (rng.standard_normal(v.shape).astype(v.dtype) if v.dtype.kind == "f" else v)
             for k, v in shapes.items()} for _ in range(8)]


def _compare(name, fp32, int8, feeds, labels) -> SetReport:
    errs, agree, right32, right8 = [], 0, 0, 0
    for i, feed in enumerate(feeds):
        a = np.asarray(fp32.run(None, feed)[0], np.float64)
        b = np.asarray(int8.run(None, feed)[0], np.float64)
        errs.append(np.abs(a - b))
        if a.shape[-1] > 1:
            ta, tb = a.reshape(-1, a.shape[-1]).argmax(-1), b.reshape(-1, b.shape[-1]).argmax(-1)
            agree += int((ta == tb).all())
            if labels is not None:
                right32 += int(ta[0] == labels[i])
                right8 += int(tb[0] == labels[i])
    n = len(feeds)
    diff = np.concatenate([e.ravel() for e in errs])
    classes = feeds and np.asarray(fp32.run(None, feeds[0])[0]).shape[-1] > 1
    return SetReport(name, n, float(diff.max()), float(diff.mean()),
                     agree / n if classes else None,
                     right32 / n if classes and labels is not None else None,
                     right8 / n if classes and labels is not None else None)


def _timings(fp32, int8, feed, rounds: int = 7, calls: int = 30) -> tuple[float, float]:
    """p50 ms per call of each model, alternating rounds so both see the same machine state."""
    def one_round(session) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            session.run(None, feed)
        return (time.perf_counter() - start) * 1e3 / calls

    for session in (fp32, int8):
        one_round(session)                                   # warm up
    a, b = [], []
    for _ in range(rounds):
        a.append(one_round(fp32))
        b.append(one_round(int8))
    return statistics.median(a), statistics.median(b)
