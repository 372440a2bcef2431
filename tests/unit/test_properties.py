"""Property-based tests (hypothesis) of env serialisation, check and diff.

- dotenv: `parse_env(serialize_env(d)) == d` (same order too) for every valid key and every value
  Node's dotenv can carry (the few it cannot are refused by check, naming the key):
  unicode, newlines, CR, NUL, quotes, backslashes, `=`, `#`, `$`, empty and very long values.
- diff never reports a change between two equivalent spellings of the same inputs (env as a dict or
  as dotenv text in another order, description None or "").
- check never crashes, whatever JSON-like value (or preview unknown) each property holds, and only
  ever reports failures against declared properties.

The providers are called directly (no server): check only resolves credentials, from DOKPLOY_URL /
DOKPLOY_API_KEY set to a dummy loopback URL; no request is made.
"""

from __future__ import annotations

import math
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, find, given, settings
from hypothesis import strategies as st
from pulumi.dynamic import CheckFailure, CheckResult
from pulumi.output import Unknown
from pulumi.runtime import rpc

from dokploy_pulumi._attrs import is_unknown
from dokploy_pulumi._dotenv import env_as_dict, is_env_key, parse_env, serialize_env, unrepresentable_env_keys
from dokploy_pulumi._references import ALLOW_BREAKING_ATTR
from dokploy_pulumi.providers import EnvironmentProvider, ProjectProvider

SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("PROP_EXAMPLES", "200")),
    deadline=None,
    # too_slow: generation time is the machine's load (CI runs the real tiers beside), not behaviour.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PROVIDERS = {"Project": ProjectProvider, "Environment": EnvironmentProvider}


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch):
    for name in ("DOKPLOY_CA_BUNDLE", "DOKPLOY_INSECURE_SKIP_VERIFY", "DOKPLOY_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOKPLOY_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("DOKPLOY_API_KEY", "dummy-key-never-sent")


# -- strategies ------------------------------------------------------------------------------------

#: The characters of every key the providers accept: ENV_KEY_RE (Node dotenv's `[\w.-]+`, ASCII), so
#: keys may start with a digit, a dot or a dash and hold dots and dashes anywhere.
KEY_ALPHABET = string.ascii_letters + string.digits + "_.-"
#: Every key the providers accept: any non-empty run of KEY_ALPHABET except `__proto__`, which Node's
#: dotenv drops (check refuses it as unrepresentable). Drawn uniformly from the alphabet, plus the
#: shapes worth trying every time (single dot or dash, leading digit, `export` prefixes).
env_keys = st.one_of(
    st.text(alphabet=KEY_ALPHABET, min_size=1, max_size=31),
    st.sampled_from(["1", "9LIVES", ".", "-", "..", "-A", ".env", "NEXT.PUBLIC_URL", "my-key", "export", "export.A"]),
).filter(lambda key: key != "__proto__")
tricky = st.sampled_from(
    [
        "",
        " ",
        "=",
        "==",
        "#",
        " #",
        "# not a comment",
        "a=b=c",
        "'",
        '"',
        "\\",
        "\\n",
        "\n",
        "\r",
        "\r\n",
        "\x00",
        "\t",
        "$",
        "${A}",
        "$(cmd)",
        "`x`",
        "é",
        "日本",
        "\u2028",
        "\x85",
        "\ufeff",
        "export ",
        "A=1",
    ]
)
env_values = st.one_of(
    st.text(),  # any unicode (no surrogates), newlines, CR and NUL included
    st.lists(st.one_of(tricky, st.text(max_size=5)), max_size=8).map("".join),
    st.text(alphabet=string.printable, min_size=1000, max_size=5000),  # very long values
)
env_dicts = st.dictionaries(env_keys, env_values, max_size=8)
#: The dicts Node's dotenv can carry unchanged (what check accepts).
carriable_env_dicts = env_dicts.filter(lambda d: not unrepresentable_env_keys(d))
#: Text Dokploy's database can store (Postgres text holds no NUL, which check refuses).
storable = st.text().map(lambda s: s.replace("\x00", "_"))
names = st.text(min_size=1).map(lambda s: s.replace("\x00", "_"))
descriptions = st.one_of(st.none(), storable)
unknowns = st.sampled_from([Unknown(), rpc.UNKNOWN])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(), unknowns
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


def _connection_like() -> st.SearchStrategy[Any]:
    fields = {
        "url": st.one_of(
            json_like, st.sampled_from(["http://127.0.0.1:2", "https://d.example.com/api", "ftp://x", ""])
        ),
        "api_key_config": st.one_of(json_like, st.just("dokploy:apiKey")),
        "api_key_env": st.one_of(json_like, st.just("DOKPLOY_API_KEY")),
        "ca_bundle": json_like,
        "insecure_skip_verify": json_like,
        "timeout": st.one_of(json_like, st.sampled_from([1, 2.5, "3", "abc", -1, 0, float("nan")])),
    }
    return st.one_of(json_like, st.fixed_dictionaries({}, optional=fields))


def _property_values(prop: str) -> st.SearchStrategy[Any]:
    """Valid and invalid values for one property, weighted so that valid ones occur often."""
    plausible = {
        "name": names,
        "description": descriptions,
        "env": st.one_of(
            env_dicts,
            carriable_env_dicts.map(serialize_env),
            st.dictionaries(st.text(max_size=10), json_like, max_size=4),
        ),
        "force_destroy": st.booleans(),
        "connection": _connection_like(),
        "adopt_id": st.text(),
        "project_id": st.text(),
    }.get(prop, st.nothing())
    return st.one_of(plausible, json_like)


def _inputs_strategy(resource: str) -> st.SearchStrategy[dict[str, Any]]:
    props = [a.name for a in PROVIDERS[resource].lifecycle.inputs]
    return st.fixed_dictionaries({}, optional={p: _property_values(p) for p in props})


# -- the key strategy draws every accepted key ------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda k: k[0].isdigit(), id="leading-digit"),
        pytest.param(lambda k: k[0] == ".", id="leading-dot"),
        pytest.param(lambda k: k[0] == "-", id="leading-dash"),
        pytest.param(lambda k: "." in k[1:] and "-" in k[1:], id="dot-and-dash-inside"),
        pytest.param(lambda k: k.isalpha() and k.isupper(), id="plain-upper"),
        pytest.param(lambda k: len(k) == 31, id="long"),
    ],
)
def test_key_strategy_draws_every_shape(shape: Any) -> None:
    """The strategy behind "every valid key" reaches the shapes the key rule allows."""
    assert shape(find(env_keys, shape, settings=settings(max_examples=2000, database=None)))


@SETTINGS
@given(env_keys)
def test_every_drawn_key_is_accepted(key: str) -> None:
    """And it draws only keys the providers accept (so the round trip below holds for each)."""
    assert is_env_key(key)
    assert ProjectProvider().check({}, {"name": "app", "env": {key: "v"}}).failures == []


# -- dotenv round trip -------------------------------------------------------------------------------


@SETTINGS
@given(carriable_env_dicts)
def test_dotenv_round_trip(env: dict[str, str]) -> None:
    text = serialize_env(env)
    back = parse_env(text)
    assert back == env
    assert list(back) == list(env)  # order is kept too
    assert env_as_dict(text) == env and env_as_dict(env) == env


@SETTINGS
@given(carriable_env_dicts)
def test_dotenv_one_line_per_key(env: dict[str, str]) -> None:
    """Every key starts a line of its own: a value can never inject another variable."""
    text = serialize_env(env)
    starts = [line.split("=", 1)[0] for line in text.split("\n") if line and is_env_key(line.split("=", 1)[0])]
    assert set(env) <= set(starts)


@pytest.mark.parametrize(
    "value",
    [
        "a\rb",
        "\r",
        "x\r\n",
        "\x00",
        "a\x00b",
        "\\",
        "\\n",
        '"',
        '\\"',
        "'",
        "\\'",
        'it\'s "q" \\ \n',
        "=",
        "#x",
        " lead",
        "trail ",
        "${A}",
        "\u2028",
        "\x85",
        "\ufeff",
        "é" * 10_000,
    ],
)
def test_dotenv_round_trip_known_hard_values(value: str) -> None:
    assert parse_env(serialize_env({"K": value, "NEXT": "1"})) == {"K": value, "NEXT": "1"}


# -- diff: equivalent inputs are no change ------------------------------------------------------------


def _checked(provider: Any, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    result = provider.check(olds, news)
    assert result.failures == [], result.failures
    return result.inputs


@SETTINGS
@given(names, storable, carriable_env_dicts, st.randoms(use_true_random=False), st.booleans())
def test_project_diff_has_no_change_for_equivalent_inputs(name, description, env, rnd, force_destroy) -> None:
    provider = ProjectProvider()
    as_dict = {"name": name, "description": description or None, "env": env, "force_destroy": force_destroy}
    items = list(env.items())
    rnd.shuffle(items)
    as_text = {
        "name": name,
        "description": description or "",
        "env": serialize_env(dict(items)) if items else None,
        "force_destroy": force_destroy,
    }
    first = _checked(provider, {}, as_dict)
    # What state holds after create: the checked inputs plus the computed outputs.
    outs = {**first, "created_at": "2026-01-01T00:00:00.000Z", "organization_id": "org", "default_environment_id": "e"}
    second = _checked(provider, outs, as_text)
    assert provider.diff("id", outs, second).changes is False
    assert provider.diff("id", {**outs, "description": description if description else None}, second).changes is False
    # and check is idempotent: its output checks to itself
    assert _checked(provider, outs, second) == second


@SETTINGS
@given(names.filter(lambda n: n != "production"), storable, carriable_env_dicts, names)
def test_environment_diff_has_no_change_for_equivalent_inputs(name, description, env, project_id) -> None:
    provider = EnvironmentProvider()
    first = _checked(
        provider, {}, {"project_id": project_id, "name": name, "description": description or None, "env": env}
    )
    outs = {**first, "is_default": False, "created_at": "2026-01-01T00:00:00.000Z"}
    text = {"project_id": project_id, "name": name, "description": description or "", "env": serialize_env(env)}
    second = _checked(provider, outs, text)
    result = provider.diff("id", outs, second)
    assert result.changes is False and not result.replaces


# -- check never crashes ----------------------------------------------------------------------------


def _assert_sane(provider: Any, result: Any) -> None:
    assert isinstance(result, CheckResult)
    assert isinstance(result.inputs, dict)
    declared = {a.name for a in provider.lifecycle.inputs}
    for failure in result.failures:
        assert isinstance(failure, CheckFailure)
        assert failure.property in declared
        assert isinstance(failure.reason, str) and failure.reason


@pytest.mark.parametrize("resource", sorted(PROVIDERS))
def test_check_never_crashes(resource: str) -> None:
    provider = PROVIDERS[resource]()

    @SETTINGS
    @given(olds=st.one_of(st.just({}), _inputs_strategy(resource)), news=_inputs_strategy(resource))
    def run(olds: dict[str, Any], news: dict[str, Any]) -> None:
        result = provider.check(olds, news)
        _assert_sane(provider, result)
        if result.failures:
            return
        # Whatever passed check can be diffed against itself, and against old inputs that passed.
        same = provider.diff("id", result.inputs, result.inputs)
        if not any(is_unknown(v) for v in result.inputs.values()):
            assert same.changes is False
        old_result = provider.check({}, olds)
        if not old_result.failures and not any(is_unknown(v) for v in result.inputs.values()):
            # Both sides opt out of the env-reference guard: a diff that removes env keys may read
            # the server (tests/provider/test_env_references*.py), and there is none here.
            opted = {ALLOW_BREAKING_ATTR.name: True}
            old_inputs, new_inputs = {**old_result.inputs, **opted}, {**result.inputs, **opted}
            diff = provider.diff("id", old_inputs, new_inputs)
            # check stores canonical inputs, so the diff is exactly "some diffed input differs"
            # (adopt_id is read at create only).
            diffed = [a.name for a in provider.lifecycle.inputs if not a.create_only]
            differing = {k for k in diffed if old_inputs.get(k) != new_inputs.get(k)}
            assert diff.changes is bool(differing), (differing, diff.changes)
            assert set(diff.replaces or []) <= differing
            replace_on_change = {a.name for a in provider.lifecycle.inputs if a.replace}
            assert differing & replace_on_change <= set(diff.replaces or [])

    run()


@pytest.mark.parametrize("resource", sorted(PROVIDERS))
def test_check_lets_unknowns_through(resource: str) -> None:
    """At preview any input may be unknown, at the top level or inside env: never a failure."""
    provider = PROVIDERS[resource]()
    base = {"name": "app", "project_id": "p1"}

    @SETTINGS
    @given(
        st.sets(st.sampled_from([a.name for a in provider.lifecycle.inputs]), min_size=1),
        unknowns,
        st.dictionaries(env_keys, st.one_of(env_values, unknowns), max_size=4).filter(
            lambda d: not unrepresentable_env_keys({k: v for k, v in d.items() if isinstance(v, str)})
        ),
    )
    def run(props: set[str], unknown: Any, env: dict[str, Any]) -> None:
        news = {**base, **{p: unknown for p in props}}
        result = provider.check({}, news)
        assert result.failures == [], result.failures
        result = provider.check({}, {**base, "env": env})
        assert result.failures == [], result.failures

    run()


@SETTINGS
@given(st.dictionaries(st.text(max_size=20), env_values, min_size=1, max_size=6))
def test_bad_env_keys_are_named_and_values_never_shown(env: dict[str, str]) -> None:
    assume(any(not is_env_key(k) for k in env))
    secret = "sk_live_property_secret_8c1f"
    env = {k: v + secret for k, v in env.items()}
    failures = ProjectProvider().check({}, {"name": "app", "env": env}).failures
    assert [f.property for f in failures] == ["env"]
    assert secret not in failures[0].reason
    assert "must be names Dokploy's dotenv parser reads" in failures[0].reason


@SETTINGS
@given(env_dicts)
def test_values_dotenv_cannot_carry_fail_at_preview_naming_keys_only(env: dict[str, str]) -> None:
    marker = "SEKRIT-8c1f"  # in every value, so a value shown anywhere in the reason is caught
    env = {k: marker + v for k, v in env.items()}
    lossy = unrepresentable_env_keys(env)
    assume(lossy)
    failures = ProjectProvider().check({}, {"name": "app", "env": env}).failures
    assert [f.property for f in failures] == ["env"]
    reason = failures[0].reason
    assert "cannot reach Dokploy's services unchanged" in reason
    assert all(repr(k) in reason for k in lossy[:10])
    assert marker not in reason


def test_nan_and_infinite_timeouts_are_refused_not_crashes() -> None:
    provider = ProjectProvider()
    for timeout in (float("nan"), math.inf, -1, 0, "abc", [1]):
        conn = {"url": "http://127.0.0.1:2", "api_key_env": "DOKPLOY_API_KEY", "timeout": timeout}
        failures = provider.check({}, {"name": "app", "connection": conn}).failures
        assert [f.property for f in failures] == ["connection"], (timeout, failures)


@pytest.mark.parametrize(
    "value, ok",
    [("abc", False), ("0", False), ("-1", False), ("nan", False), ("inf", False), ("2.5", True), ("30", True)],
)
def test_timeout_from_the_environment_is_checked(monkeypatch, value: str, ok: bool) -> None:
    monkeypatch.setenv("DOKPLOY_TIMEOUT", value)
    failures = ProjectProvider().check({}, {"name": "app"}).failures
    if ok:
        assert failures == []
    else:
        assert [f.property for f in failures] == ["connection"]
        assert "timeout" in failures[0].reason and "DOKPLOY_TIMEOUT" in failures[0].reason
