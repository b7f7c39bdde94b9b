"""The provider table: names, aliases, and the refusal of every provider this onnxruntime lacks."""
from __future__ import annotations

import onnxruntime as ort
import pytest

from dlgen.bench.specs import parse_target_spec
from dlgen.errors import BadInput, TargetUnavailable
from dlgen.targets.onnxruntime import providers as eps

INSTALLED = ort.get_available_providers()
MISSING = [p for p in eps.PROVIDERS if p.ort_name not in INSTALLED]

ALIASES = [("cpu", "cpu"), ("CPUExecutionProvider", "cpu"), ("default", "cpu"),
           ("dnnl", "dnnl"), ("mkl", "dnnl"), ("onednn", "dnnl"), ("mkl-dnn", "dnnl"),
           ("MKL-DNN", "dnnl"), ("openvino", "openvino"), ("ov", "openvino"),
           ("OpenVINOExecutionProvider", "openvino"), ("acl", "acl"), ("arm", "acl"),
           ("xnnpack", "xnnpack"), ("cuda", "cuda"), ("gpu", "cuda"), ("tensorrt", "tensorrt"),
           ("trt", "tensorrt"), ("coreml", "coreml"), ("directml", "directml"),
           ("dml", "directml"), ("qnn", "qnn"), ("migraphx", "migraphx")]


@pytest.mark.parametrize("alias, name", ALIASES)
def test_aliases(alias, name):
    assert eps.resolve(alias).name == name


def test_table_covers_the_issue_list():
    assert [p.name for p in eps.PROVIDERS] == ["cpu", "dnnl", "openvino", "acl", "xnnpack",
                                               "cuda", "tensorrt", "coreml", "directml", "qnn",
                                               "migraphx"]
    assert all(p.ort_name in ort.get_all_providers() for p in eps.PROVIDERS if p.name != "acl")


@pytest.mark.parametrize("provider", MISSING, ids=[p.name for p in MISSING])
def test_missing_provider_refusal_names_it_lists_installed_and_the_source(provider):
    with pytest.raises(TargetUnavailable) as info:
        eps.select([provider.name])
    err = info.value
    assert err.exit_code == 2
    assert repr(provider.name) in err.message and provider.ort_name in err.message
    assert "not in the installed onnxruntime" in err.message
    for name in INSTALLED:
        assert name in err.message
    assert provider.source in err.hint


def test_package_hints_name_the_right_package():
    by = {p.name: p.source for p in eps.PROVIDERS}
    assert "onnxruntime-openvino" in by["openvino"]
    assert "onnxruntime-gpu" in by["cuda"] and "onnxruntime-gpu" in by["tensorrt"]
    assert "--use_dnnl" in by["dnnl"] and "--use_acl" in by["acl"]
    assert "onnxruntime-directml" in by["directml"] and "onnxruntime-qnn" in by["qnn"]


@pytest.mark.parametrize("names, fallback, needle", [
    (["foo"], None, "unknown ONNX Runtime execution provider 'foo'"),
    (["cpu", "default"], None, "names 'cpu' twice"),
    (["cpu"], "gpu", "the only fallback is cpu"),
])
def test_bad_selections(names, fallback, needle):
    with pytest.raises(BadInput) as info:
        eps.select(names, fallback)
    assert needle in info.value.message and info.value.hint


def test_fallback_appends_cpu_once():
    assert [p.name for p in eps.select(["cpu"], "cpu")] == ["cpu"]
    fake = ["OpenVINOExecutionProvider", "CPUExecutionProvider"]
    assert [p.name for p in eps.select(["ov"], "cpu", available=fake)] == ["openvino", "cpu"]
    assert [p.name for p in eps.select(["ov"], None, available=fake)] == ["openvino"]


@pytest.mark.parametrize("text, label", [("onnxruntime:cpu", "onnxruntime"),
                                         ("ort:CPUExecutionProvider", "onnxruntime")])
def test_bench_spec_aliases(text, label):
    spec = parse_target_spec(text)
    assert spec.label == label and spec.compile_options() == {"providers": ["cpu"]}


@pytest.mark.parametrize("provider", MISSING[:3], ids=[p.name for p in MISSING[:3]])
def test_bench_spec_refuses_missing_providers_by_alias(provider):
    alias = (provider.aliases or (provider.name,))[0]
    with pytest.raises(TargetUnavailable) as info:
        parse_target_spec(f"onnxruntime:{alias}")
    assert provider.ort_name in info.value.message and provider.source in info.value.hint


def test_cli_refusals_exit_2(mlp, tmp_path, dlgen_cli):
    missing = MISSING[0]
    cases = [(["--ep", "mkl-dnn"] if missing.name == "dnnl" else ["--ep", missing.name],
              "not in the installed onnxruntime"),
             (["--ep", "tpu"], "unknown ONNX Runtime execution provider"),
             (["--fallback", "gpu"], "the only fallback is cpu"),
             (["--ep-option", "cuda"], "is not EP:KEY=VALUE"),
             (["--ep-option", "openvino:device_type=CPU"], "not chosen with --ep")]
    for args, needle in cases:
        proc = dlgen_cli("compile", mlp, "-t", "onnxruntime", "-o", tmp_path / "out", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert needle in proc.stderr and "\nhint: " in proc.stderr
        assert "Traceback" not in proc.stderr
    proc = dlgen_cli("compile", mlp, "-t", "c", "--ep", "cpu", "-o", tmp_path / "out")
    assert proc.returncode == 2 and "only for -t onnxruntime" in proc.stderr


def test_targets_lists_every_provider(dlgen_cli):
    proc = dlgen_cli("targets")
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout.split("onnxruntime execution providers")[1].splitlines()
    for p in eps.PROVIDERS:
        line = next(l for l in table if l.strip().startswith(p.name + " "))
        assert p.ort_name in line
        assert (" yes " in line) == (p.ort_name in INSTALLED)
        if p.ort_name not in INSTALLED:
            assert p.source in line
    assert "also mkl, onednn, mkl-dnn" in proc.stdout
