"""quote() and ascii_safe(): model-supplied text rendered safely in messages."""
from dlgen.text import ascii_safe, quote


def test_plain_name_is_single_quoted():
    assert quote("conv1/weight:0") == "'conv1/weight:0'"
    assert quote("") == "''"


def test_quotes_and_backslashes_are_escaped():
    assert quote("it's") == "'it\\'s'"
    assert quote("a\\b") == "'a\\\\b'"
    assert quote('say "hi"') == "'say \"hi\"'"


def test_control_characters_are_escaped():
    out = quote("a\nb\rc\td\x1b[31mred\x00\x7f")
    assert out == "'a\\nb\\rc\\td\\x1b[31mred\\x00\\x7f'"
    assert all(32 <= ord(c) < 127 for c in out)


def test_non_ascii_is_escaped():
    assert quote("caf\u00e9") == "'caf\\xe9'"
    assert quote("\u202eevil") == "'\\u202eevil'"  # right-to-left override
    assert quote("\U0001f600") == "'\\U0001f600'"
    assert quote("\udcff") == "'\\udcff'"  # lone surrogate (from surrogateescape)
    assert quote("\u00e9\u202e\U0001f600\n").isascii()


def test_long_names_are_cut_and_marked():
    out = quote("x" * 500, limit=10)
    assert out == "'xxxxxxxxxx'...(500 chars)"
    assert quote("x" * 10, limit=10) == "'xxxxxxxxxx'"
    assert len(quote("y" * 10_000)) < 100


def test_cut_never_splits_an_escape():
    out = quote("ab\u202e", limit=4)
    assert out == "'ab'...(3 chars)"


def test_bytes_and_other_objects():
    assert quote(b"ab\xff") == "'ab\\\\xff'"
    assert quote(42) == "'42'"


def test_ascii_safe_keeps_text_unquoted():
    assert ascii_safe("Field 'x' is\nmissing \u00e9") == "Field 'x' is\\nmissing \\xe9"
    assert ascii_safe("z" * 50, limit=10) == "z" * 10 + "..."
