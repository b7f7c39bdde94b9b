"""The loader snippets of an onnxruntime artifact: load_model.py and load_model.cpp, which create
a session with exactly the options and providers dlgen compiled and checked the artifact with."""
from __future__ import annotations

import functools
import re
from pathlib import Path

import jinja2
import numpy as np

from ... import __version__
from ...errors import BadInput
from ...resources import templates_dir
from ...text import quote
from . import providers as eps
from .session import _LEVEL_ATTR, SessionConfig

PY_FILE = "load_model.py"
CPP_FILE = "load_model.cpp"

_CPP_TYPES = {"float32": "float", "float64": "double", "float16": "Ort::Float16_t",
              "int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
              "uint8": "uint8_t", "uint16": "uint16_t", "uint32": "uint32_t",
              "uint64": "uint64_t", "bool": "bool"}


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "onnxruntime")),
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)


def render_template(template: str, **context) -> str:
    return _environment().get_template(template).render(**context)


def cpp_string(text: str) -> str:
    """A C++ string literal for any text: printable ASCII as is, every other byte octal."""
    out = []
    for byte in str(text).encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _cpp_map(options: dict[str, str]) -> str:
    return "{" + ", ".join(f"{{{cpp_string(k)}, {cpp_string(v)}}}"
                           for k, v in options.items()) + "}"


def _cpp_list(items) -> str:
    return "{" + ", ".join(cpp_string(i) for i in items) + "}"


def _cpp_value(text: str) -> str:
    """A number as a C++ literal (an options struct field), anything else as a string."""
    return text if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text) else cpp_string(text)


_BOOL = re.compile(r"\{bool:([A-Za-z0-9_]+)\}")
_FIELDS = re.compile(r"\{fields:([A-Za-z_][A-Za-z0-9_]*)\}")


def provider_cpp(provider: eps.Provider, options: dict[str, str]) -> list[str]:
    """The C++ statements appending ``provider`` with ``options`` (see providers.Provider.cpp)."""
    code = (provider.cpp.replace("{options}", _cpp_map(options))
            .replace("{keys}", _cpp_list(options)).replace("{values}", _cpp_list(options.values())))
    code = _BOOL.sub(lambda m: "true" if str(options.get(m.group(1), "")).lower() in ("1", "true")
                     else "false", code)
    lines = []
    for line in code.split("\n"):
        fields = _FIELDS.fullmatch(line)
        if fields is None:
            lines.append(line)
            continue
        for key, value in options.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise BadInput(f"{provider.name} option {quote(key)} is not a field name of "
                               f"its C++ options struct",
                               hint="give the option under the name of the struct field")
            lines.append(f"{fields.group(1)}.{key} = {_cpp_value(str(value))};")
    return lines


def _cpp_providers(cfg: SessionConfig) -> list[str]:
    lines = []
    for ort_name in cfg.providers:
        provider = eps.by_ort_name(ort_name)
        if provider is None or provider.name == "cpu":
            continue  # the CPU provider is always registered last by ONNX Runtime itself
        lines.extend(provider_cpp(provider, cfg.provider_options.get(ort_name, {})))
    return lines


def _cpp_includes(cfg: SessionConfig) -> list[str]:
    found = (eps.by_ort_name(n) for n in cfg.providers)
    return [p.cpp_include for p in found if p is not None and p.cpp_include]


def write_snippets(outdir: Path, *, name: str, cfg: SessionConfig, model_file: str,
                   inputs: list[tuple[str, tuple[str, list[int]]]], outputs: list[str],
                   data_file: str | None = None) -> dict:
    """Write load_model.py and load_model.cpp into ``outdir``; return their file names.
    ``data_file``: the external data file of the model, which must stay beside it."""
    common = {"title": quote(name), "version": __version__, "level": _LEVEL_ATTR[cfg.opt_level],
              "threads": cfg.threads,
              "data_note": (f"its initializers are in {ascii(data_file)[1:-1]}, which ONNX Runtime "
                            f"reads from the model's folder: keep the two files together")
              if data_file else ""}
    py_inputs = [(ascii(n), dtype if dtype != "bool" else "bool_", str(list(shape)))
                 for n, (dtype, shape) in inputs]
    (outdir / PY_FILE).write_text(render_template(
        "load_model.py.j2", **common, model_file=ascii(model_file),
        ort_note="model.ort (ORT format) loads the same way where dlgen.json lists it",
        providers=[ascii((p, cfg.provider_options[p])) if cfg.provider_options.get(p)
                   else ascii(p) for p in cfg.providers],
        config_entries=[(ascii(k), ascii(v)) for k, v in cfg.config_entries.items()],
        inputs=py_inputs))
    cpp_inputs = [{"ctype": _CPP_TYPES.get(dtype, "float"), "dtype": dtype,
                   "size": int(np.prod(shape, dtype=np.int64)), "rank": len(shape),
                   "dims": ", ".join(str(int(d)) for d in shape),
                   "shape_text": str(list(shape))} for _, (dtype, shape) in inputs]
    import onnxruntime as ort

    (outdir / CPP_FILE).write_text(render_template(
        "load_model.cpp.j2", **common, model_file=cpp_string(model_file),
        ort_version=ort.__version__, log_id=cpp_string(name),
        config_entries=[(cpp_string(k), cpp_string(v)) for k, v in cfg.config_entries.items()],
        providers=_cpp_providers(cfg), includes=_cpp_includes(cfg), inputs=cpp_inputs,
        input_names=", ".join(cpp_string(n) for n, _ in inputs),
        output_names=", ".join(cpp_string(n) for n in outputs), output_count=len(outputs)))
    return {"python": PY_FILE, "cpp": CPP_FILE}
