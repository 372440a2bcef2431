"""`dokploy_pulumi._dotenv` against the real Node dotenv 16.4.5 `parse` (what Dokploy's services see).

(a) whatever dict is serialised, Node reads back exactly that dict, or `unrepresentable_env_keys`
names the key, and then no standard spelling (bare, ', ", `) carries that value in Node either;
(b) on arbitrary dotenv-ish text, `parse_env` returns what Node's `parse` returns.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dokploy_pulumi._dotenv import parse_env, serialize_env, unrepresentable_env_keys

#: Examples per property; DOTENV_ORACLE_EXAMPLES=5000 for a longer hunt.
ORACLE = settings(
    max_examples=int(os.environ.get("DOTENV_ORACLE_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- strategies ---------------------------------------------------------------------------------------

keys = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
    # Names that mean something to JS objects or to the parser; __proto__ is one in 11.
    st.sampled_from(
        [
            "K",
            "A_1",
            "_",
            "export",
            "constructor",
            "toString",
            "valueOf",
            "hasOwnProperty",
            "PATH",
            "DATABASE_URL",
            "__proto__",
        ]
    ),
)
value_pieces = st.sampled_from(
    [
        "'",
        '"',
        "`",
        "\\",
        "\\\\",
        "#",
        " #",
        "=",
        "${{project.X}}",
        "${{environment.DB_URL}}",
        "$HOME",
        "\n",
        "\r",
        "\r\n",
        "\\n",
        "\\r",
        "\\'",
        '\\"',
        "\\`",
        " ",
        "\t",
        "export ",
        ":",
        ": ",
        "\u2028",
        "\u2029",
        "\u00a0",
        "\ufeff",
        "\x85",
        "\x0b",
        "\x0c",
        "\x00",
        "é",
        "日本",
        "🙂",
        "a",
        "b1",
        "x y",
    ]
)
values = st.one_of(
    st.lists(st.one_of(value_pieces, st.text(max_size=3)), max_size=10).map("".join),
    st.text(max_size=20),
)
env_dicts = st.dictionaries(keys, values, max_size=6)

text_pieces = st.sampled_from(
    [
        "'",
        '"',
        "`",
        "\\",
        "#",
        " ",
        "\t",
        "=",
        ":",
        "\n",
        "\r\n",
        "\r",
        "\\n",
        "\\r",
        "\u2028",
        "\u00a0",
        "\ufeff",
        "\x85",
        "a",
        "b",
        "x y",
        "export ",
        "é",
        "🙂",
        "${{project.X}}",
    ]
)
line_values = st.lists(st.one_of(text_pieces, st.text(max_size=2)), max_size=8).map("".join)
dotenv_lines = st.one_of(
    st.tuples(
        st.sampled_from(["", " ", "\t", "export ", "export\t", "  export  ", "\n"]),
        st.one_of(
            st.from_regex(r"[A-Za-z0-9_.-]{1,5}", fullmatch=True),
            st.sampled_from(["__proto__", "export", "#K", "K K", "", "ä"]),
        ),
        st.sampled_from(["=", " = ", "= ", " =", ":", ": ", " : ", "", "==", "=\t", "=\n"]),
        line_values,
        st.sampled_from(["", " # c", "#c", " #", "'", '"']),
    ).map("".join),
    st.sampled_from(["", "# comment", "   ", "garbage", "=x", "K='", 'K="', "K=`"]),
    st.text(max_size=12),
)
dotenv_texts = st.one_of(
    st.tuples(st.lists(dotenv_lines, max_size=8), st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\n \n"])).map(
        lambda t: t[1].join(t[0])
    ),
    st.text(max_size=40),
)

# -- (a) serialise ----------------------------------------------------------------------------------

#: Lines that could follow an entry; a spelling must read the same before each of them.
FOLLOWERS = {"": {}, "\nN=1": {"N": "1"}, "\nN='#'": {"N": "#"}, '\nN="#"': {"N": "#"}, "\nN=`#`": {"N": "#"}}
#: A value no spelling carries: ' and ` cannot hold a carriage return (Node reads it as a newline),
#: and in double quotes (`\r`) the inner `"` closes the value early, leaving `#...` as a comment.
HOPELESS = '"#\r'


def _standard_spellings(value: str) -> list[str]:
    """Every ordinary way to write `value` after `K=`: bare, ', `, and " with newlines escaped or not."""
    escaped_cr = value.replace("\r", "\\r")
    return [
        value,
        f"'{value}'",
        f"`{value}`",
        f'"{value}"',
        '"' + escaped_cr.replace("\n", "\\n") + '"',
        '"' + escaped_cr + '"',
    ]


def _carried_by_node(node_dotenv, value: str) -> list[str]:
    """The standard spellings that Node reads back as `value` alone and before every follower."""
    spellings = _standard_spellings(value)
    texts = [f"K={s}{f}" for s in spellings for f in FOLLOWERS]
    results = iter(node_dotenv.parse_many(texts))
    return [s for s in spellings if all(next(results) == {"K": value, **want} for want in FOLLOWERS.values())]


@ORACLE
@given(env_dicts)
def test_node_reads_serialized_env_back_or_the_key_is_named(node_dotenv, env: dict[str, str]) -> None:
    bad = unrepresentable_env_keys(env)
    assert bad == sorted(bad) and set(bad) <= set(env)
    good = {k: v for k, v in env.items() if k not in bad}
    text = serialize_env(good)
    assert node_dotenv.parse(text) == good
    assert parse_env(text) == good
    for key in bad:
        event("refused: __proto__" if key == "__proto__" else "refused: value")
        if key == "__proto__":
            assert node_dotenv.parse("__proto__=x\n") == {}
        else:
            # Never refuse a value that one of the standard spellings would carry.
            assert _carried_by_node(node_dotenv, env[key]) == [], key
    if bad:
        # The message names keys only: it is the same whatever the values are.
        with pytest.raises(ValueError) as refused:
            serialize_env(env)
        with pytest.raises(ValueError) as hopeless:
            serialize_env({**{k: HOPELESS for k in bad}, **good})
        assert str(refused.value) == str(hopeless.value)
    else:
        assert serialize_env(env) == text


@pytest.mark.parametrize(
    "value",
    [
        HOPELESS,
        "# \\",  # needs quotes, ends with a backslash: `'# \\'` reads right only until a later line closes it
        " C:\\dir\\",
        "\\n\r",  # a carriage return needs double quotes, which expand the literal \n
        "'\"`#\n",
    ],
)
def test_refused_values_are_refused_by_node_too(node_dotenv, value: str) -> None:
    assert unrepresentable_env_keys({"K": value}) == ["K"]
    assert _carried_by_node(node_dotenv, value) == []


@pytest.mark.parametrize(
    "value",
    ["C:\\tmp", 'it\'s "q"', "a\\nb", "'\"`\n", "'\\", '"\r', "${{project.X}}", " # x ", "a\r\nb", "\u2028'a'"],
)
def test_tricky_values_are_carried(node_dotenv, value: str) -> None:
    text = serialize_env({"K": value, "N": "'#'"})
    assert node_dotenv.parse(text) == {"K": value, "N": "'#'"}


# -- (b) parse ------------------------------------------------------------------------------------


@ORACLE
@given(dotenv_texts)
def test_parse_env_matches_node(node_dotenv, text: str) -> None:
    assert parse_env(text) == node_dotenv.parse(text)
