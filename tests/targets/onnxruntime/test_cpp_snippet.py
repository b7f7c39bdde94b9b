"""load_model.cpp against a real ONNX Runtime SDK: every provider's snippet compiles, and the CPU
artifact's snippet builds, links and runs.

The SDK is the folder named by DLGEN_ORT_SDK, laid out like ONNX Runtime's release archives
(include/onnxruntime_cxx_api.h..., lib/libonnxruntime.so); without it these tests skip. A
provider whose statements need a newer C API than the SDK's headers (Provider.cpp_api), or a
provider header the SDK lacks (acl_provider_factory.h), skips with that reason. See
docs/ONNXRUNTIME.md ("The C++ loader against an SDK").
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ort_models import mlp_model, save

from dlgen.errors import BadInput
from dlgen.targets.onnxruntime import providers as eps
from dlgen.targets.onnxruntime import target as ort_target
from dlgen.targets.onnxruntime.session import SessionConfig
from dlgen.targets.onnxruntime.snippets import provider_cpp, write_snippets

CXX = shutil.which("g++") or shutil.which("clang++")
SDK = Path(os.environ["DLGEN_ORT_SDK"]) if os.environ.get("DLGEN_ORT_SDK") else None
needs_sdk = pytest.mark.skipif(SDK is None or CXX is None,
                               reason="set DLGEN_ORT_SDK to an ONNX Runtime SDK folder (include/, "
                                      "lib/) and have g++ or clang++ to compile load_model.cpp")

# Typical options per provider: what --ep-option would pass.
OPTIONS = {"dnnl": {"use_arena": "1"}, "openvino": {"device_type": "CPU", "num_of_threads": "2"},
           "acl": {"enable_fast_math": "1"}, "xnnpack": {"intra_op_num_threads": "2"},
           "cuda": {"device_id": "0", "cudnn_conv_algo_search": "HEURISTIC"},
           "tensorrt": {"device_id": "0", "trt_fp16_enable": "1"},
           "coreml": {"ModelFormat": "MLProgram", "MLComputeUnits": "ALL"},
           "directml": {"device_id": "0"}, "qnn": {"backend_path": "libQnnHtp.so"},
           "migraphx": {"device_id": "0", "migraphx_fp16_enable": "1"}}


def _render(outdir: Path, provider: eps.Provider, options: dict[str, str]) -> Path:
    providers = [provider.ort_name] + ([] if provider.name == "cpu" else ["CPUExecutionProvider"])
    cfg = SessionConfig(providers=providers, provider_options={provider.ort_name: options},
                        threads=2, config_entries={"session.disable_cpu_ep_fallback": "1"})
    write_snippets(outdir, name="mlp", cfg=cfg, model_file="model.onnx",
                   inputs=[("x", ("float32", [2, 16])), ("ids", ("int64", [3]))],
                   outputs=["logits"])
    return outdir / "load_model.cpp"


def _header_api(sdk: Path) -> int:
    text = (sdk / "include" / "onnxruntime_c_api.h").read_text(errors="replace")
    return int(re.search(r"#define ORT_API_VERSION (\d+)", text).group(1))


def _compile(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CXX, "-std=c++17", "-Wall", f"-I{SDK / 'include'}", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("provider", eps.PROVIDERS, ids=lambda p: p.name)
def test_every_provider_renders(tmp_path, provider):
    """No SDK needed: the statements are filled in, options included, braces balanced."""
    text = _render(tmp_path, provider, OPTIONS.get(provider.name, {})).read_text()
    body = text[text.index("int main"):]
    assert not re.search(r"\{(options|keys|values|bool:\w+|fields:\w+)\}", body)
    assert body.count("{") == body.count("}") and body.count("(") == body.count(")")
    for key in OPTIONS.get(provider.name, {}):
        if provider.name != "acl":
            assert f'"{key}"' in body or f".{key} =" in body
    if provider.cpp_include:
        assert f"#include <{provider.cpp_include}>" in text


def test_options_struct_fields_and_bool_flags():
    migraphx = eps.resolve("migraphx")
    lines = provider_cpp(migraphx, {"device_id": "1", "migraphx_save_model_path": "m.mxr"})
    assert "migraphx_options.device_id = 1;" in lines
    assert 'migraphx_options.migraphx_save_model_path = "m.mxr";' in lines
    assert "session_options, true));" in provider_cpp(eps.resolve("acl"),
                                                      {"enable_fast_math": "1"})[0]
    assert "session_options, false));" in provider_cpp(eps.resolve("acl"), {})[0]
    with pytest.raises(BadInput):
        provider_cpp(migraphx, {"bad key": "1"})


@needs_sdk
@pytest.mark.parametrize("provider", eps.PROVIDERS, ids=lambda p: p.name)
def test_provider_snippet_compiles(tmp_path, provider):
    api = _header_api(SDK)
    if provider.cpp_api > api:
        pytest.skip(f"{provider.name}'s statements need ORT_API_VERSION >= {provider.cpp_api}; "
                    f"the SDK's headers are version {api}")
    if provider.cpp_include and not (SDK / "include" / provider.cpp_include).is_file():
        pytest.skip(f"{provider.cpp_include} (from an ONNX Runtime build with {provider.name}) "
                    f"is not in {SDK / 'include'}")
    source = _render(tmp_path, provider, OPTIONS.get(provider.name, {}))
    proc = _compile(["-fsyntax-only", str(source)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]


PROBE = r"""#include <onnxruntime_c_api.h>
#include <stdio.h>
int main(void) {
    const OrtApiBase *base = OrtGetApiBase();
    printf("%s %d\n", base->GetVersionString(), base->GetApi(ORT_API_VERSION) != NULL);
    return 0;
}
"""


@needs_sdk
@pytest.mark.parametrize("weights", ["embedded", "external"])
def test_cpu_snippet_builds_and_runs(tmp_path, rng, dlgen_cli, weights):
    """The CPU artifact's load_model.cpp links against the SDK's library and runs; with the
    weights in model.onnx.data too (run from another folder: the data is found beside the
    model)."""
    lib = SDK / "lib"
    env = {**os.environ, "LD_LIBRARY_PATH": f"{lib}:{os.environ.get('LD_LIBRARY_PATH', '')}"}
    (tmp_path / "probe.cpp").write_text(PROBE)
    proc = _compile(["probe.cpp", f"-L{lib}", "-lonnxruntime", "-o", "probe"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    version, supported = subprocess.run(["./probe"], cwd=tmp_path, env=env, capture_output=True,
                                        text=True, timeout=60, check=True).stdout.split()
    if supported != "1":
        pytest.skip(f"the SDK's library (ONNX Runtime {version}) is older than its headers "
                    f"(ORT_API_VERSION {_header_api(SDK)}): it cannot run the snippet")
    model = save(mlp_model(rng), tmp_path / "mlp.onnx")
    out = tmp_path / "art"
    threshold = {ort_target.THRESHOLD_ENV: "1024"} if weights == "external" else {}
    compiled = dlgen_cli("compile", model, "-t", "onnxruntime", "-o", out,
                         env={**os.environ, **threshold})
    assert compiled.returncode == 0, compiled.stderr
    assert (out / "model.onnx.data").is_file() == (weights == "external")
    proc = _compile(["load_model.cpp", f"-L{lib}", "-lonnxruntime", "-o", "load_model"], out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = subprocess.run([str(out / "load_model"), str(out / "model.onnx")], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "logits: 20 elements"
