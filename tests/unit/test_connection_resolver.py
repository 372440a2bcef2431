"""The one connection resolver (`_connection.resolve`) as the commands use it, and the commands'
last-resort error handling. The real-CLI versions of these are in tests/e2e/test_cli_connection_e2e.py."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from dokploy_pulumi import CredentialError
from dokploy_pulumi import _recover as rec
from dokploy_pulumi.__main__ import build_parser, main
from dokploy_pulumi._connection import ConfigSource, Connection, resolve
from dokploy_pulumi._pulumi_cli import CommandFailed, PulumiCLI, connection_source, pulumi_stack_config

KEY = "k3yC-9a8b7c6d5e4f3a2b"


def test_stack_config_first_then_the_environment_for_every_setting(tmp_path: Path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    config = {"dokploy:url": "http://127.0.0.1:1", "dokploy:apiKey": "from-config", "dokploy:timeout": "7"}
    environ = {
        "DOKPLOY_URL": "http://127.0.0.1:2",
        "DOKPLOY_API_KEY": "from-env",
        "DOKPLOY_TIMEOUT": "9",
        "DOKPLOY_CA_BUNDLE": str(ca),
    }
    s = resolve(ConfigSource(config, environ), None)
    assert (s.url, s.api_key, s.timeout, s.verify) == ("http://127.0.0.1:1", "from-config", 7.0, str(ca))
    assert "from-config" not in repr(s)
    s = resolve(ConfigSource({}, {**environ, "DOKPLOY_INSECURE_SKIP_VERIFY": "true"}), None)
    assert (s.url, s.api_key, s.timeout, s.verify) == ("http://127.0.0.1:2", "from-env", 9.0, False)


class _FakeCLI(PulumiCLI):
    def __init__(self, config):
        super().__init__(stack="dev")
        self.config = config

    def config_get(self, key):
        if isinstance(self.config, Exception):
            raise self.config
        return self.config.get(key)


def test_recover_and_import_share_the_providers_resolver():
    cli = _FakeCLI({"dokploy:url": "http://127.0.0.1:1", "dokploy:apiKey": KEY, "dokploy:timeout": "3"})
    environ = {"DOKPLOY_URL": "http://127.0.0.1:2", "DOKPLOY_API_KEY": "other"}
    server = rec.client_factory(cli, environ)(None)
    assert (server.client.base_url, server.client.timeout) == ("http://127.0.0.1:1/api/", 3.0)
    assert resolve(connection_source(cli, environ), None).url == "http://127.0.0.1:1"
    conn = {"url": "http://127.0.0.1:3", "api_key_env": "MY_KEY", "timeout": "x"}
    with pytest.raises(CredentialError, match=r"^The Dokploy timeout \(the connection\) must be a positive"):
        rec.client_factory(cli, {"MY_KEY": KEY})(conn)
    assert Connection.from_input({"url": "u", "timeout": "2.5"}).timeout == 2.5
    # An unreadable config is never replaced by the environment.
    failing = _FakeCLI(CommandFailed("cannot read the stack's config (...)"))
    with pytest.raises(CommandFailed, match="cannot read the stack's config"):
        rec.client_factory(failing, environ)(None)


def test_outside_a_pulumi_project_the_environment_alone_is_used(tmp_path: Path):
    assert pulumi_stack_config(None, cwd=tmp_path, env={"PATH": ""}) is None
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\n")
    with pytest.raises(CommandFailed, match="the pulumi CLI is not on PATH"):
        pulumi_stack_config(None, cwd=tmp_path, env={"PATH": ""})


@pytest.mark.parametrize(
    "argv",
    [
        ["import", "--project-id", "-abc", "--name", "-n", "--all"],
        ["recover", "--choose", "urn:pulumi:s::p::t::n", "-id", "--clock-skew", "-5"],
    ],
)
def test_option_values_beginning_with_a_dash(argv, monkeypatch):
    seen = {}

    def run(args, argv):
        seen.update(vars(args))
        return 0

    parser = build_parser()
    monkeypatch.setattr("dokploy_pulumi.__main__.build_parser", lambda: parser)
    for action in parser._subparsers._group_actions[0].choices.values():  # type: ignore[union-attr]
        action.set_defaults(run=run)
    assert main(argv) == 0
    if argv[0] == "import":
        assert seen["project_id"] == ["-abc"] and seen["name"] == ["-n"] and seen["all"]
    else:
        assert seen["choose"] == [["urn:pulumi:s::p::t::n", "-id"]] and seen["clock_skew"] == -5.0


def test_an_unexpected_failure_in_recover_is_one_line_without_secrets(monkeypatch):
    monkeypatch.setenv("DOKPLOY_API_KEY", KEY)

    def boom(**kw):
        raise RuntimeError(f"something broke\nwhile holding {KEY}")

    monkeypatch.setattr(rec, "main", boom)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["recover"]) == 1
    assert err.getvalue() == (
        "error: unexpected RuntimeError: something broke while holding *** (a bug in dokploy_pulumi; please report it)\n"
    )
    assert out.getvalue() == ""
