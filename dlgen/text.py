"""Safe rendering of untrusted text (names and messages that come from a model) in messages.

Names in an ONNX model are arbitrary strings: they can hold newlines, terminal escape codes,
right-to-left overrides or megabytes of text. Everything dlgen prints that came from a model
goes through ``quote`` (a name) or ``ascii_safe`` (a longer message, such as the ONNX checker's).
"""
from __future__ import annotations

_NAMED_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(ch: str, quote_char: str | None) -> str:
    if ch in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[ch]
    if quote_char is not None and ch == quote_char:
        return "\\" + ch
    code = ord(ch)
    if 0x20 <= code < 0x7F:
        return ch
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _to_str(s: object) -> str:
    if isinstance(s, (bytes, bytearray)):
        return bytes(s).decode("utf-8", errors="backslashreplace")
    return s if isinstance(s, str) else str(s)


def _escape(text: str, limit: int, quote_char: str | None) -> tuple[str, bool]:
    """Escaped ``text``, at most ``limit`` output characters; and whether it was cut."""
    pieces: list[str] = []
    used = 0
    for ch in text:
        piece = _escape_char(ch, quote_char)
        if used + len(piece) > limit:
            return "".join(pieces), True
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces), False


def quote(s: str, limit: int = 80) -> str:
    """``s`` single-quoted, ASCII-only, with control characters escaped and length limited.

    >>> quote("conv1/weight")
    "'conv1/weight'"
    >>> quote("a\\nb'c")
    "'a\\\\nb\\\\'c'"

    At most ``limit`` characters appear between the quotes; a longer name is cut and followed by
    ``...(N chars)`` outside the quotes, so a cut name never looks like a complete one.
    """
    text = _to_str(s)
    body, cut = _escape(text, max(int(limit), 1), "'")
    if cut:
        return f"'{body}'...({len(text)} chars)"
    return f"'{body}'"


def ascii_safe(s: str, limit: int = 500) -> str:
    """``s`` made printable: like ``quote`` without the quotes; newlines are kept as ``\\n``."""
    text = _to_str(s)
    body, cut = _escape(text, max(int(limit), 1), None)
    return body + "..." if cut else body
