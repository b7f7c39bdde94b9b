"""The Jinja environment for C code. Templates only format; Python decides what to emit."""
from __future__ import annotations

import functools
from typing import Any

import jinja2

from ...resources import templates_dir


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "c")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env


@functools.lru_cache(maxsize=None)
def _module(template: str):
    return environment().get_template(template).module


def render_macro(template: str, macro: str, **params: Any) -> str:
    """Render one macro of a template under templates/c (e.g. "ops/elementwise.c.j2")."""
    fn = getattr(_module(template), macro)
    return str(fn(**params)).strip("\n")


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
