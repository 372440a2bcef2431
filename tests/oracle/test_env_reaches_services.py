"""Env values reach Dokploy's services unchanged (issue 11, item 3), through the SDK's provider server.

The provider writes env text to the emulator; the real Node `dotenv` 16.4.5 (what Dokploy's
services see) must parse it back to exactly the declared dict. And text typed on the server is
read the way Node reads it, so refresh shows what services would get.
"""

from __future__ import annotations

import os

from dokploy_pulumi.providers import EnvironmentProvider, ProjectProvider
from dokploy_pulumi.testing import DokployEmulator
from dokploy_pulumi.testing.provider_server import ProviderServer, blob_of, diff_kind

P = "__provider"
# The values that used to change on their way: a Windows path, quotes of both kinds, a literal
# backslash-n, plus what needs quoting for other reasons.
VALUES = {
    "WIN_PATH": "C:\\tmp",
    "QUOTED": 'it\'s "q"',
    "LITERAL_BACKSLASH_N": "a\\nb",
    "PEM": "-----BEGIN KEY-----\nabc\n-----END KEY-----",
    "HASH": "# not a comment",
    "PADDED": "  two spaces  ",
    "EQUALS": "a=b=c",
    "REF": "${{project.DATABASE_URL}}",
    "EMPTY": "",
    "UNICODE": "Grüße, 日本",
}
UPDATED = {**VALUES, "WIN_PATH": "D:\\data\\", "QUOTED": "`back` 'single' \"double\""}


def _server() -> ProviderServer:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOKPLOY_")}
    return ProviderServer(env=env)


def test_env_written_by_the_providers_is_what_node_dotenv_reads(node_dotenv):
    with DokployEmulator() as emu, _server() as srv:
        srv.configure({"dokploy:url": emu.url, "dokploy:apiKey": emu.api_key})
        inputs, failures = srv.check({}, {P: blob_of(ProjectProvider()), "name": "app", "env": VALUES})
        assert failures == []
        pid, pouts = srv.create(inputs)
        assert node_dotenv.parse(emu.get_project(pid)["env"]) == VALUES
        assert pouts["env"] == VALUES

        env_blob = blob_of(EnvironmentProvider())
        inputs, failures = srv.check({}, {P: env_blob, "project_id": pid, "name": "staging", "env": VALUES})
        assert failures == []
        eid, eouts = srv.create(inputs)
        assert node_dotenv.parse(emu.get_environment(eid)["env"]) == VALUES

        news, failures = srv.check(eouts, {P: env_blob, "project_id": pid, "name": "staging", "env": UPDATED})
        assert failures == []
        assert diff_kind(srv.diff(eid, eouts, news)) == "some"
        outs = srv.update(eid, eouts, news)
        assert node_dotenv.parse(emu.get_environment(eid)["env"]) == UPDATED == outs["env"]
        # ...and the same values declared again are no change.
        again, _ = srv.check(outs, {P: env_blob, "project_id": pid, "name": "staging", "env": UPDATED})
        assert diff_kind(srv.diff(eid, outs, again)) == "none"


def test_refresh_reads_server_text_as_services_see_it(node_dotenv):
    # What a UI user (or python-dotenv-style escaping) might leave on the server.
    typed = (
        "# set by hand\n"
        'export WIN_PATH="C:\\\\tmp"\r\n'
        "QUOTED='it\\'s'\n"
        "LIST=a,b # trailing comment\n"
        "WIN_PATH2=C:\\tmp\n"
        "REPEATED=1\n"
        "REPEATED=2\n"
    )
    with DokployEmulator() as emu, _server() as srv:
        srv.configure({"dokploy:url": emu.url, "dokploy:apiKey": emu.api_key})
        blob = blob_of(ProjectProvider())
        inputs, _ = srv.check({}, {P: blob, "name": "app", "env": {"WIN_PATH": "C:\\tmp"}})
        pid, outs = srv.create(inputs)
        emu.set_project_fields(pid, env=typed)
        _, routs, rinputs = srv.read(pid, outs)
        assert routs["env"] == node_dotenv.parse(typed) == rinputs["env"]
        assert routs["env"]["WIN_PATH"] == "C:\\\\tmp"  # two backslashes reach the service
        # So the next `up` shows the drift against what the program declares, and fixes it.
        news, _ = srv.check(rinputs, {P: blob, "name": "app", "env": {"WIN_PATH": "C:\\tmp"}})
        assert diff_kind(srv.diff(pid, routs, news)) == "some"
        srv.update(pid, routs, news)
        assert node_dotenv.parse(emu.get_project(pid)["env"]) == {"WIN_PATH": "C:\\tmp"}
