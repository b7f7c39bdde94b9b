"""Typed errors. Every user-facing failure is a DlgenError: what failed, where, and what to do.

The CLI maps ``exit_code`` to the process exit status and prints ``str(err)`` plus ``hint``
without a traceback.
"""
from __future__ import annotations


class DlgenError(Exception):
    """Base class: a problem with the user's input or environment (exit status 2)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None):
        self.message = message
        self.hint = hint
        self.where = where
        super().__init__(self.render())

    def render(self) -> str:
        text = self.message
        if self.where:
            text = f"{self.where}: {text}"
        return text


class BadModel(DlgenError):
    """The model file or bytes cannot be read, parsed or validated."""


class Unsupported(DlgenError):
    """The model uses ops or features a target cannot lower."""


class ShapeError(DlgenError):
    """Shapes are unknown, unbound, inconsistent or too large."""


class BadInput(DlgenError):
    """A command-line argument, input file or option is wrong."""


class TargetUnavailable(DlgenError):
    """A target, compiler or provider is not available on this machine."""


class BuildError(DlgenError):
    """The generated code failed to compile: a dlgen bug, reported with the compiler output."""


class Mismatch(DlgenError):
    """Verification found outputs that differ from the reference (exit status 1)."""

    exit_code = 1
