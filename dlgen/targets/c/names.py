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

# The generated header is also included from C++ (it has extern "C" guards).
CXX_KEYWORDS = frozenset("""
alignas alignof and and_eq bitand bitor catch char16_t char32_t char8_t class compl concept
consteval constexpr constinit const_cast co_await co_return co_yield decltype delete
dynamic_cast explicit export friend mutable namespace new noexcept not not_eq nullptr operator
or or_eq private protected public reinterpret_cast requires static_assert static_cast template
this thread_local throw try typeid typename using virtual wchar_t xor xor_eq
""".split())

_MATH = """acos asin atan atan2 cos sin tan acosh asinh atanh cosh sinh tanh exp exp2 expm1 frexp
ilogb ldexp log log10 log1p log2 logb modf scalbn scalbln cbrt fabs hypot pow sqrt erf erfc
lgamma tgamma ceil floor nearbyint rint lrint llrint round lround llround trunc fmod remainder
remquo copysign nan nextafter nexttoward fdim fmax fmin fma""".split()

# Lower-case names of the C library (functions, and macros that are not all capitals) that
# generated code or the headers it includes may use. A function parameter with one of these
# names would shadow it (or be rewritten by the macro).
C_LIBRARY_NAMES = frozenset([f"{m}{s}" for m in _MATH for s in ("", "f", "l")] + """
fpclassify isfinite isinf isnan isnormal signbit isgreater isgreaterequal isless islessequal
islessgreater isunordered math_errhandling errno assert offsetof setjmp longjmp va_start va_arg
va_end va_copy va_list memcpy memmove memset memcmp memchr strcpy strncpy strcat strncat
strcmp strncmp strlen strchr strrchr strstr strtok strerror strcoll strxfrm strspn strcspn
strpbrk malloc calloc realloc free abort exit atexit abs labs llabs div ldiv lldiv atoi atol
atoll atof strtol strtoul strtoll strtoull strtod strtof strtold rand srand qsort bsearch getenv
system printf fprintf sprintf snprintf vprintf vfprintf puts fputs putchar fputc putc getc
fgetc fgets getchar fopen fclose fread fwrite fflush fseek ftell rewind remove rename perror
stdin stdout stderr clock time clock_gettime difftime size_t ptrdiff_t wchar_t intmax_t uintmax_t
intptr_t uintptr_t float_t double_t va_list jmp_buf clock_t time_t fpos_t div_t ldiv_t lldiv_t
""".split() + [f"{u}int{k}{n}_t" for u in ("", "u") for k in ("", "_least", "_fast")
                for n in (8, 16, 32, 64)])

_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]+")
# The runtime's namespace (dlg_*, DLG_*, dlgen_*, DLGEN_* header guards).
_RUNTIME_NAMESPACE = re.compile(r"^dlg(en)?(_|$)")


def identifier(text: str, *, default: str = "x", max_len: int = 40) -> str:
    """A valid C identifier derived from ``text`` (lowercase ASCII letters, digits, '_')."""
    ident = _NOT_IDENT.sub("_", text.encode("ascii", "ignore").decode()).strip("_").lower()
    ident = re.sub(r"_+", "_", ident)[:max_len].rstrip("_") or default
    if ident[0].isdigit():
        ident = f"{default}_{ident}"
    if _RUNTIME_NAMESPACE.match(ident):
        ident = f"{default}_{ident}"
    if (ident in C_KEYWORDS or ident in CXX_KEYWORDS or ident.startswith("__")
            or re.match(r"_[A-Z]", ident)):
        ident = f"{ident}_"
    return ident


def is_library_name(ident: str) -> bool:
    """Whether ``ident`` names something of the C library (see C_LIBRARY_NAMES)."""
    return ident in C_LIBRARY_NAMES


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
