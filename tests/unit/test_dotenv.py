"""dotenv text <-> dict, as Dokploy's parser (Node dotenv 16.4.5 `parse`) reads it.

Every expected parse below was checked against the real package (`require('dotenv').parse`);
tests/oracle compares with it on generated input.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dokploy_pulumi._dotenv import (
    env_as_dict,
    is_env_key,
    parse_env,
    quote_env_value,
    serialize_env,
    unrepresentable_env_keys,
)

# -- parse ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("A=1\nB=two words\n", {"A": "1", "B": "two words"}, id="plain"),
        pytest.param("export A=1\nexport\tB = 2\n  export   C=3", {"A": "1", "B": "2", "C": "3"}, id="export"),
        pytest.param("A=1\r\nB=2\rC=3\r\n", {"A": "1", "B": "2", "C": "3"}, id="crlf-and-cr"),
        pytest.param("A= x y   # a comment\nB=x#y\nC=#\n", {"A": "x y", "B": "x", "C": ""}, id="unquoted-ends-at-hash"),
        pytest.param(
            "A='C:\\tmp\\n \"#\" `x`'\nB='l1\nl2'\n", {"A": 'C:\\tmp\\n "#" `x`', "B": "l1\nl2"}, id="single-literal"
        ),
        pytest.param('A=`it\'s "q" \\n`\nB=`l1\nl2`\n', {"A": 'it\'s "q" \\n', "B": "l1\nl2"}, id="backtick-literal"),
        pytest.param(
            'A="a\\nb\\rc\\td\\\\e\\"f#"\nB="l1\nl2"\n',
            {"A": 'a\nb\rc\\td\\\\e\\"f#', "B": "l1\nl2"},
            id="double-expands-only-n-and-r",
        ),
        pytest.param("A=1\nA=2\nA=\n", {"A": ""}, id="last-wins"),
        pytest.param(
            "A=\nB=''\nC=\"\"\nD=``\nE= # c\nF\nG=   \n",
            {"A": "", "B": "", "C": "", "D": "", "E": "", "G": ""},
            id="empty-values",
        ),
        pytest.param("A=\"  x  \"\nB='\tx\t'\nC=  x  \n", {"A": "  x  ", "B": "\tx\t", "C": "x"}, id="edge-spaces"),
        pytest.param(
            "A=日本 é 🙂\nB=\u00a0x\u00a0\nC=\x85x\x85\nD=\ufeffx\n",
            {"A": "日本 é 🙂", "B": "x", "C": "\x85x\x85", "D": "x"},
            id="unicode-and-js-trim",  # JS trims NBSP and BOM, not NEL (Python's strip would)
        ),
        pytest.param("A: 1\nB:2\nC : 3\n", {"A": "1"}, id="colon-separator"),
        pytest.param("# comment\ngarbage line\n=x\n  # indented\nA=1\n", {"A": "1"}, id="comments-and-garbage"),
        pytest.param('A="abc\nB=1\n', {"A": '"abc', "B": "1"}, id="unclosed-quote-is-unquoted"),
        pytest.param('A="abc\nB="#x"\n', {"A": "abc\nB="}, id="quote-closed-on-a-later-line"),
        pytest.param("A='a'b'\nB=\"a\"b\"\nC='a' # c\n", {"A": "a'b", "B": 'a"b', "C": "a"}, id="quoted-falls-back"),
        pytest.param("__proto__=x\nA=1\n", {"A": "1"}, id="proto-dropped"),
        pytest.param(
            'A=${{project.X}}\nB="${{environment.Y}}"\nC=$HOME\n',
            {"A": "${{project.X}}", "B": "${{environment.Y}}", "C": "$HOME"},
            id="no-interpolation",
        ),
        pytest.param("A=ab\u2028'c'\n", {"A": "ab\u2028c"}, id="m-flag-line-separator"),
        pytest.param("A=\n'x'\n", {"A": "x"}, id="value-on-next-line"),
        pytest.param("A.b-c=1\n1A=2\n", {"A.b-c": "1", "1A": "2"}, id="node-key-chars"),
        pytest.param("", {}, id="empty"),
    ],
)
def test_parse_env_like_node(text: str, expected: dict[str, str]) -> None:
    assert parse_env(text) == expected


# -- serialise --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        # The values python-dotenv-style escaping used to change on their way to Node.
        pytest.param("C:\\tmp", "C:\\tmp", id="backslash"),
        pytest.param('it\'s "q"', 'it\'s "q"', id="quotes"),
        pytest.param("a\\nb", "a\\nb", id="literal-backslash-n"),
        pytest.param("", "", id="empty"),
        pytest.param("${{project.DB_URL}}", "${{project.DB_URL}}", id="reference"),
        pytest.param("a=b==c", "a=b==c", id="equals"),
        pytest.param(" x ", "' x '", id="edge-spaces"),
        pytest.param("#x", "'#x'", id="hash"),
        pytest.param("it's #1", '"it\'s #1"', id="hash-and-single-quote"),
        pytest.param("a\nb\r", '"a\\nb\\r"', id="newlines-escaped-on-one-line"),
        pytest.param('it\'s "#"', '`it\'s "#"`', id="backticks"),
        pytest.param("\\n\n", "'\\n\n'", id="literal-and-real-newline"),
        pytest.param("'\"`\n", '"\'"`\\n"', id="all-quotes-via-unquoted-fallback"),
        pytest.param("'\\", "''\\'", id="quote-backslash-via-unquoted-fallback"),
        pytest.param("'a'", "\"'a'\"", id="quoted-looking"),
    ],
)
def test_serialize_env_spelling(value: str, written: str) -> None:
    text = serialize_env({"K": value, "N": "1"})
    assert text == f"K={written}\nN=1\n"
    assert quote_env_value(value) == written
    assert parse_env(text) == {"K": value, "N": "1"}


def test_serialize_env_keeps_order_and_round_trips() -> None:
    env = {"Z": "1", "A": "x y", "M": "a\nb", "B": ""}
    text = serialize_env(env)
    assert text == 'Z=1\nA=x y\nM="a\\nb"\nB=\n'
    assert list(parse_env(text).items()) == list(env.items())


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("# \\", id="needs-quotes-ends-with-backslash"),
        pytest.param(" C:\\dir\\", id="edge-space-and-final-backslash"),
        pytest.param('"#\r', id="cr-quote-hash"),
        pytest.param("\\n\r", id="cr-and-literal-backslash-n"),
        pytest.param("'\"`#\n", id="every-quote-hash-newline"),
    ],
)
def test_values_no_spelling_carries_are_refused_by_key(value: str) -> None:
    env = {"OK": "1", "TOKEN": value}
    assert unrepresentable_env_keys(env) == ["TOKEN"]
    with pytest.raises(ValueError, match="'TOKEN'") as refused:
        serialize_env(env)
    with pytest.raises(ValueError) as other:
        serialize_env({"TOKEN": "# \\"})
    # Keys only: the message does not depend on the (maybe secret) value, nor name the good keys.
    assert str(refused.value) == str(other.value) and "'OK'" not in str(refused.value)
    assert quote_env_value(value) == value  # nothing is written for it


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("'\"`\\#=$ \t\n\r\u2028\u00a0ab"), max_size=12))
def test_refusals_need_a_carriage_return_a_final_backslash_or_both_quote_kinds(value: str) -> None:
    """Without those, ' or ` quotes carry any value literally: refusals stay rare."""
    if "\r" not in value and not value.endswith("\\") and ("'" not in value or "`" not in value):
        assert unrepresentable_env_keys({"K": value}) == []
        assert parse_env(serialize_env({"K": value, "N": "'#'"})) == {"K": value, "N": "'#'"}


@pytest.mark.parametrize("key", ["__proto__", "A B", "A=B", "", "K\n"])
def test_keys_node_would_not_read_back_are_refused(key: str) -> None:
    assert unrepresentable_env_keys({key: "1", "OK": "1"}) == [key]
    with pytest.raises(ValueError):
        serialize_env({key: "1"})


def test_unrepresentable_keys_are_sorted() -> None:
    assert unrepresentable_env_keys({"B": "# \\", "A": "# \\", "C": "1", "__proto__": ""}) == ["A", "B", "__proto__"]


def test_env_as_dict() -> None:
    assert env_as_dict(None) == {}
    assert env_as_dict("A=1\nB='x y'\n") == {"A": "1", "B": "x y"}
    assert env_as_dict({"A": "1", "B": None}) == {"A": "1", "B": ""}


def test_env_key_re() -> None:
    assert is_env_key("_A1") and is_env_key("1A") and is_env_key("A-B") and is_env_key("a.b")
    assert not is_env_key("A B") and not is_env_key("É") and not is_env_key("A=B")
    # The whole key: a trailing newline is not part of a name (a `$` anchor let "A\n" through).
    assert not is_env_key("A\n") and not is_env_key("\nA") and not is_env_key("")


def test_a_key_with_a_trailing_newline_is_refused_as_a_key() -> None:
    from dokploy_pulumi.providers import ProjectProvider

    failures = ProjectProvider().check({}, {"name": "p", "env": {"A\n": "v"}}).failures or []
    assert [f.property for f in failures] == ["env"]
    assert "keys must be names" in failures[0].reason and "'A\\n'" in failures[0].reason
