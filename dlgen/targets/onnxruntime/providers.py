"""ONNX Runtime execution providers: dlgen's names, aliases, and where each one comes from.

``dlgen compile -t onnxruntime --ep NAME`` and ``dlgen bench -t onnxruntime:NAME`` take the names
of the table below (or an alias, or ONNX Runtime's own ``XxxExecutionProvider`` name). A provider
that the installed onnxruntime package lacks is refused (exit 2) with the providers it has and
the package or build that carries the missing one. CPU is the only implicit fallback ONNX Runtime
knows, and dlgen never lets it happen silently: without ``--fallback cpu`` the session is created
with ``session.disable_cpu_ep_fallback`` so a node no requested provider takes is an error.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import BadInput, TargetUnavailable
from ...text import quote


@dataclass(frozen=True)
class Provider:
    name: str                 # dlgen's name: what --ep takes and manifests record
    ort_name: str             # ONNX Runtime's name
    aliases: tuple[str, ...]
    title: str                # what it is, for humans
    source: str               # which package or build provides it
    cpp: str                  # C++ statements appending it (loader snippet); placeholders below
    cpp_api: int = 1          # the ORT_API_VERSION (= ONNX Runtime 1.N) whose headers have them
    cpp_include: str = ""     # a provider header they need that the SDK archive does not ship


# Placeholders of Provider.cpp, filled in by snippets.py from the provider's options:
#   {options}  a std::unordered_map initializer {{"key", "value"}, ...}
#   {keys}     a std::vector<const char *> initializer of the keys, {values} of the values
#   {bool:K}   true when option K is 1/true, else false
#   {fields:V} (a line of its own) one `V.key = value;` per option, for options structs
# Where ONNX Runtime's generic SessionOptions::AppendExecutionProvider(name, options) knows a
# provider (XNNPACK, CoreML, QNN, DML...) the snippet uses it; CUDA, TensorRT and oneDNN take
# options objects of the C API (Create/Update/Release...ProviderOptions).
_V2_OPTIONS = (
    "Ort{kind}ProviderOptions{v2} *{var}_options = nullptr;\n"
    "Ort::ThrowOnError(Ort::GetApi().Create{kind}ProviderOptions(&{var}_options));\n"
    "std::vector<const char *> {var}_keys = {{keys}}, {var}_values = {{values}};\n"
    "Ort::ThrowOnError(Ort::GetApi().Update{kind}ProviderOptions({var}_options, {var}_keys.data(), "
    "{var}_values.data(), {var}_keys.size()));\n"
    "Ort::ThrowOnError(Ort::GetApi().SessionOptionsAppendExecutionProvider_{append}("
    "session_options, {var}_options));\n"
    "Ort::GetApi().Release{kind}ProviderOptions({var}_options);")


def _options_object(kind: str, var: str, append: str, v2: str = "V2") -> str:
    return _V2_OPTIONS.format(kind=kind, var=var, append=append, v2=v2)


PROVIDERS = (
    Provider("cpu", "CPUExecutionProvider", ("default",), "ONNX Runtime's own CPU kernels (MLAS)",
             "every onnxruntime package (pip install onnxruntime)", ""),
    Provider("dnnl", "DnnlExecutionProvider", ("mkl", "onednn", "mkl-dnn", "mkldnn"),
             "Intel oneDNN (formerly MKL-DNN)",
             "an ONNX Runtime built from source with ./build.sh --use_dnnl (no PyPI wheel)",
             _options_object("Dnnl", "dnnl", "Dnnl", v2=""), cpp_api=15),
    Provider("openvino", "OpenVINOExecutionProvider", ("ov",), "Intel OpenVINO",
             "the onnxruntime-openvino wheel (pip install onnxruntime-openvino; it replaces "
             "onnxruntime, so give it its own virtual environment) or a --use_openvino build",
             "session_options.AppendExecutionProvider_OpenVINO_V2({options});", cpp_api=18),
    Provider("acl", "ACLExecutionProvider", ("arm", "armcl", "arm-compute-library"),
             "Arm Compute Library",
             "an ONNX Runtime built from source on Arm with ./build.sh --use_acl (no PyPI wheel)",
             "Ort::ThrowOnError(OrtSessionOptionsAppendExecutionProvider_ACL(session_options, "
             "{bool:enable_fast_math}));",
             cpp_include="acl_provider_factory.h"),
    Provider("xnnpack", "XnnpackExecutionProvider", (), "Google XNNPACK",
             "the onnxruntime-android / onnxruntime-mobile packages or a build with "
             "./build.sh --use_xnnpack (the desktop PyPI wheels do not include it)",
             'session_options.AppendExecutionProvider("XNNPACK", {options});', cpp_api=12),
    Provider("cuda", "CUDAExecutionProvider", ("gpu",), "NVIDIA CUDA",
             "the onnxruntime-gpu wheel (pip install onnxruntime-gpu; needs an NVIDIA driver, "
             "CUDA 12 and cuDNN 9)",
             _options_object("CUDA", "cuda", "CUDA_V2"), cpp_api=11),
    Provider("tensorrt", "TensorrtExecutionProvider", ("trt",), "NVIDIA TensorRT",
             "the onnxruntime-gpu wheel plus the TensorRT libraries (pip install tensorrt) "
             "on an NVIDIA GPU",
             _options_object("TensorRT", "trt", "TensorRT_V2"), cpp_api=11),
    Provider("coreml", "CoreMLExecutionProvider", (), "Apple Core ML",
             "the macOS onnxruntime wheel (Apple hardware only)",
             'session_options.AppendExecutionProvider("CoreML", {options});', cpp_api=12),
    Provider("directml", "DmlExecutionProvider", ("dml",), "Microsoft DirectML",
             "the onnxruntime-directml wheel (Windows only)",
             'session_options.AppendExecutionProvider("DML", {options});', cpp_api=12),
    Provider("qnn", "QNNExecutionProvider", (), "Qualcomm AI Engine Direct (QNN)",
             "the onnxruntime-qnn wheel (Qualcomm Snapdragon, Windows on Arm or Android)",
             'session_options.AppendExecutionProvider("QNN", {options});', cpp_api=12),
    Provider("migraphx", "MIGraphXExecutionProvider", (), "AMD MIGraphX (ROCm)",
             "AMD's onnxruntime-migraphx wheel (repo.radeon.com) or a build with "
             "./build.sh --use_migraphx, on an AMD GPU",
             "OrtMIGraphXProviderOptions migraphx_options{};\n"
             "{fields:migraphx_options}\n"
             "Ort::ThrowOnError(Ort::GetApi().SessionOptionsAppendExecutionProvider_MIGraphX("
             "session_options, &migraphx_options));", cpp_api=11),
)

_BY_NAME = {p.name: p for p in PROVIDERS}
_LOOKUP = {key: p for p in PROVIDERS
           for key in (p.name, *p.aliases, p.ort_name.lower(),
                       p.ort_name.lower().removesuffix("executionprovider"))}
FALLBACKS = ("cpu",)


def names_help() -> str:
    """``cpu, dnnl (mkl, onednn, mkl-dnn), ...`` for messages and --help."""
    return ", ".join(p.name + (f" ({', '.join(p.aliases)})" if p.aliases else "")
                     for p in PROVIDERS)


def resolve(name: str) -> Provider:
    """The provider a name or alias means; unknown names are refused (BadInput)."""
    key = str(name).strip().lower()
    if key in _LOOKUP:
        return _LOOKUP[key]
    raise BadInput(f"unknown ONNX Runtime execution provider {quote(str(name))}",
                   hint=f"execution providers: {names_help()} (see `dlgen targets`)")


def by_ort_name(ort_name: str) -> Provider | None:
    return next((p for p in PROVIDERS if p.ort_name == ort_name), None)


def installed() -> list[str]:
    """ONNX Runtime's names of the providers the installed onnxruntime package has."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def _version() -> str:
    import onnxruntime as ort

    return ort.__version__


def check_installed(provider: Provider, available: list[str] | None = None) -> None:
    """Refuse (TargetUnavailable, exit 2) a provider the installed onnxruntime lacks."""
    available = installed() if available is None else available
    if provider.ort_name in available:
        return
    have = ", ".join(_short(n) for n in available) or "none"
    raise TargetUnavailable(
        f"execution provider {provider.name!r} ({provider.ort_name}, {provider.title}) is not "
        f"in the installed onnxruntime {_version()}, which has: {have}",
        hint=f"{provider.ort_name} comes with {provider.source}")


def _short(ort_name: str) -> str:
    p = by_ort_name(ort_name)
    return f"{p.name} ({ort_name})" if p else ort_name


def select(names, fallback: str | None = None,
           available: list[str] | None = None) -> list[Provider]:
    """The providers to register, in priority order: ``names`` (default cpu), then the CPU
    provider when ``fallback`` is "cpu". Unknown, duplicate or missing providers are refused."""
    if fallback is not None and str(fallback).strip().lower() not in FALLBACKS:
        raise BadInput(f"--fallback {quote(str(fallback))}: the only fallback is cpu",
                       hint="pass --fallback cpu to let ONNX Runtime's CPU provider run the nodes "
                            "the chosen providers do not take, or leave it out to refuse them")
    chosen: list[Provider] = []
    for name in list(names) or ["cpu"]:
        provider = resolve(name)
        if provider in chosen:
            raise BadInput(f"--ep {quote(str(name))} names {provider.name!r} twice",
                           hint="give each execution provider once, in priority order")
        chosen.append(provider)
    available = installed() if available is None else available
    for provider in chosen:
        check_installed(provider, available)
    if fallback is not None and _BY_NAME["cpu"] not in chosen:
        chosen.append(_BY_NAME["cpu"])
    return chosen


def table(available: list[str] | None = None) -> list[dict]:
    """One row per provider for `dlgen targets`: name, aliases, installed, and its source."""
    try:
        available = installed() if available is None else available
    except ImportError:
        available = []
    return [{"name": p.name, "ort_name": p.ort_name, "aliases": list(p.aliases),
             "title": p.title, "installed": p.ort_name in available, "source": p.source}
            for p in PROVIDERS]
