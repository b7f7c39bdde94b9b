"""Turning model-provided names into safe C: identifiers and comment text.

Names from a model never become code verbatim. ``identifier`` maps any string to a valid,
non-reserved C identifier; ``Namer`` keeps them unique; ``comment`` makes text safe inside a
``/* ... */`` comment (no terminators, no trigraphs, no backslashes, ASCII only, one line).
"""
from __future__ import annotations

import re

C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic
_Generic _Noreturn _Static_assert _Thread_local asm bool true false NULL main
""".split())

_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]+")


def identifier(text: str, *, default: str = "x", max_len: int = 40) -> str:
    """A valid C identifier derived from ``text`` (lowercase ASCII letters, digits, '_')."""
    ident = _NOT_IDENT.sub("_", text.encode("ascii", "ignore").decode()).strip("_").lower()
    ident = re.sub(r"_+", "_", ident)[:max_len].rstrip("_") or default
    if ident[0].isdigit():
        ident = f"{default}_{ident}"
    if ident in C_KEYWORDS or ident.startswith("__") or re.match(r"_[A-Z]", ident):
        ident = f"{ident}_"
    return ident


class Namer:
    """Hands out unique identifiers: the same text twice gets ``x``, ``x_2``..."""

    def __init__(self, reserved: set[str] | None = None):
        self._used = set(reserved or ())

    def __call__(self, text: str, default: str = "x") -> str:
        base = identifier(text, default=default)
        name, i = base, 1
        while name in self._used:
            i += 1
            name = f"{base}_{i}"
        self._used.add(name)
        return name


def comment(text: str, max_len: int = 120) -> str:
    """``text`` made safe to place between ``/*`` and ``*/`` on one line."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\\":
            out.append("<backslash>")
        elif 32 <= code < 127:
            out.append(ch)
        else:
            out.append(f"<U+{code:04X}>")
    safe = "".join(out)
    # Break comment delimiters and trigraph introducers ("??x") without losing the text.
    while "*/" in safe or "/*" in safe or "??" in safe:
        safe = safe.replace("*/", "*_/").replace("/*", "/_*").replace("??", "?_?")
    if len(safe) > max_len:
        safe = safe[: max_len - 3] + "..."
    return safe
