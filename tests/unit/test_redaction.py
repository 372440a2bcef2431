"""The redaction rule (`dokploy_pulumi/_redact.py`) and the client applying it to what servers echo.

A server or proxy that repeats the request (headers with the API key, a body with env values) in
its error, in any shape (JSON message, text, HTML, headers only, cut short, split over lines,
double JSON-encoded, with or without a `message`), must never get the key or an env value into
the client's error: not its message, repr, server message, body, field errors or traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from _echo_server import FORMS, EchoServer, Shape, leaked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dokploy_pulumi import DokployClient, DokployError
from dokploy_pulumi._dotenv import serialize_env, unrepresentable_env_keys
from dokploy_pulumi._exceptions import APIStatusError, InputValidationError, context_words
from dokploy_pulumi._redact import RUN, Secrets, more_secrets

KEY = "dkp_redaction_key_7Qz0a9X3b8W1"


def everything_shown(exc: BaseException) -> str:
    """All an exception lets a user or a log see: str, repr and what it carries, for it and every
    exception chained to it (a traceback adds only our own file names and source lines)."""
    parts = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        # The class name is our own public word ("PermissionDeniedError" holds the value "ermi"), and
        # so are the procedure, its path and the status that redaction keeps (`context_words`: a key
        # "projec00" shares "projec" with project.update, which must still say which call failed).
        own = [str(cur), repr(cur).removeprefix(type(cur).__name__), repr(cur.args)]
        if isinstance(cur, DokployError):
            for word in sorted(context_words(cur), key=len, reverse=True):
                own = [text.replace(word, "") for text in own]
        parts += own
        if isinstance(cur, DokployError) and cur.server_message is not None:
            parts.append(cur.server_message)  # (not str(None): an env value "None" is no leak of ours)
        if isinstance(cur, APIStatusError):
            parts.append(json.dumps(cur.body, ensure_ascii=False))
        if isinstance(cur, InputValidationError):
            parts.append(json.dumps(cur.field_errors, ensure_ascii=False))
        cur = cur.__cause__ or cur.__context__
    return "\n".join(parts)


# -- the rule ------------------------------------------------------------------------------------------


def test_a_multi_line_value_cut_and_split_is_hidden_before_folding():
    pem = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END KEY-----"
    s = Secrets([pem])
    # As a server prints it, line by line with a prefix; cut short; folded onto one line.
    echoed = "params: " + pem.replace("\n", "\nparams: ")
    for text in (echoed, echoed[:60], " ".join(echoed.split()), json.dumps(pem), pem[10:70]):
        out = s.redact(text)
        assert "MIIBOgIB" not in out and "LInFEX6" not in out and not leaked(out, pem), out
    # The snippet a message shows: redacted, folded, redacted again, then cut.
    assert not leaked(s.snippet("x " * 95 + pem), pem)


def test_short_values_follow_the_documented_lengths():
    s = Secrets(["on", "abc", "wxyz", "abcdefgh"])
    assert s.redact("on abc") == "on abc"  # shorter than MIN_LENGTH: not secrets, not hidden
    assert s.redact("x wxyz y") == "x *** y"  # whole only
    assert s.redact("x abcdefg y") == "x *** y"  # a run of RUN characters of "abcdefgh"
    assert s.redact("x abcde y") == "x abcde y"  # 5 characters of it: below RUN, not a whole secret


def test_spellings_dotenv_json_html_and_url():
    value = 'p@ss "word" <&> ünï'
    s = Secrets([value])
    for form in (
        value,
        json.dumps(value),
        json.dumps(json.dumps(value)),
        "p@ss &quot;word&quot; &lt;&amp;&gt;",
        "p%40ss%20%22word%22",
    ):
        assert not leaked(s.redact(form), value), form
        assert "***" in s.redact(form)


def test_redaction_never_completes_a_secret_around_its_mark():
    s = Secrets(["a***bcdef"])
    assert s.redact("a***bcdef a***bcdef") == "*** ***"


def test_the_transport_redacts_the_callers_extra_values_too():
    with EchoServer(Shape("json-message", 400)) as srv, DokployClient(srv.url, KEY, max_retries=0) as c:
        with more_secrets(["old-value-held-by-the-server"]), pytest.raises(DokployError) as err:
            c.project.update("p1", name="x")
        srv.shape = Shape("text", 500)
        with pytest.raises(DokployError) as plain:  # outside the block: not a secret any more
            c.project.one("old-value-held-by-the-server")
    assert "***" in str(err.value) and KEY not in everything_shown(err.value)
    assert "old-value-held-by-the-server" in str(plain.value)


# -- a server echoing the request, through the client --------------------------------------------------

values = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t '\"`#\\"),
    min_size=1,
    max_size=120,
)
keys = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=60)
shapes = st.builds(
    Shape,
    form=st.sampled_from(FORMS),
    status=st.sampled_from([200, 400, 401, 403, 404, 409, 415, 500]),
    cut=st.none() | st.integers(1, 400),
    skip=st.integers(0, 300),
    wrap=st.none() | st.integers(RUN + 4, 90),
)


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as srv:
        yield srv


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    key=keys,
    env=st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), values, min_size=1, max_size=4),
    shape=shapes,
)
def test_no_key_or_env_value_in_any_client_error(echo: EchoServer, key: str, env: dict[str, str], shape: Shape):
    if unrepresentable_env_keys(env):
        return  # the providers refuse such an env at preview; nothing is sent
    echo.shape = shape
    with DokployClient(echo.url, key, max_retries=0) as client:
        with pytest.raises(DokployError) as err:
            client.project.update("p1", env=serialize_env(env))
        with pytest.raises(DokployError) as read_err:  # a GET: only the key travels
            client.project.one("p1")
    shown = everything_shown(err.value)
    for secret in (key, *env.values()):
        assert not leaked(shown, secret), (secret, shown)
    # The GET carries only the key (the env values are no secret of that request).
    assert not leaked(everything_shown(read_err.value), key)
