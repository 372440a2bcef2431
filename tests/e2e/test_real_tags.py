"""Tags through the real CLI (issue 21): two `Tag`s and a `Project` tagged with both.

`backend` is the emulator, or a real Dokploy in the real tier (run on v0.30.2, v0.26.7, v0.25.11).
The test branches on the server's release through the release table: where tags exist, up; a tag
removed from the project by hand is found by refresh and restored by up; the tags are renamed and
recolored in place and the project's set changed; destroy leaves nothing. Where they do not, the
same program fails at the first tag request with the server's version named, and makes nothing.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest
from _backend import n
from _pulumi import PulumiStack, PulumiStackFactory

from dokploy_pulumi import DokployClient, DokployError
from dokploy_pulumi._releases import has, since

PROGRAM = Path(__file__).parent / "programs" / "tags"
TAG = "pulumi-python:dynamic/dokploy:Tag"
PROJECT = "pulumi-python:dynamic/dokploy:Project"

# About 9 CLI commands, each up to 240 s on a slow real server in dev mode.
pytestmark = pytest.mark.timeout(1800)


def _state(stack: PulumiStack, type_: str) -> list[dict[str, Any]]:
    return [r for r in stack.resources() if r["type"] == type_]


def _tags_named(api: DokployClient, prefix: str) -> list[str]:
    return sorted(t.name for t in api.tag.all() if t.name.startswith(prefix))


def test_tags_on_a_project_through_the_cli(backend, pulumi_stack: PulumiStackFactory):
    api = DokployClient(getattr(backend, "upstream", backend.url), backend.api_key, timeout=120.0)
    env: dict[str, Any] = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update({"DOKPLOY_URL": backend.url, "DOKPLOY_API_KEY": backend.api_key})
    stack = pulumi_stack(PROGRAM, env=env)
    stack.init()
    name, prefix = n("tagged"), n("tag-")
    stack.set_config("projectName", name)
    stack.set_config("clientName", prefix + "acme")
    stack.set_config("clientColor", "#ef4444")
    stack.set_config("teamName", prefix + "platform")
    stack.set_config("projectTags", "client,team")
    version = api.version()
    try:
        if not has(version, "tags"):
            failed = stack.up(expect_failure=True).output
            assert f"is {version}, which has no procedure tag.create ({since('tags')} has it)" in failed
            assert "Traceback" not in failed
            assert [p for p in backend.projects() if p["name"] == name] == []  # nothing was made
            assert _state(stack, PROJECT) == [] and _state(stack, TAG) == []
            return

        stack.up()
        out = stack.outputs()
        pid, client_id, team_id = out["project_id"], out["client_id"], out["team_id"]
        both = sorted([client_id, team_id])
        assert api.project.one(pid).tag_ids() == both and out["project_tags"] == both
        assert _tags_named(api, prefix) == [prefix + "acme", prefix + "platform"]
        assert api.tag.one(client_id).color == "#ef4444"

        # A tag removed by hand: refresh finds it, the next up puts it back.
        api.tag.remove_from_project(pid, team_id)
        stack.refresh()
        (project,) = _state(stack, PROJECT)
        assert project["outputs"]["tags"] == [client_id]
        assert stack.preview().change_summary.get("update") == 1
        stack.up()
        assert api.project.one(pid).tag_ids() == both
        stack.preview(expect_no_changes=True)

        # Renamed, recolored and the set changed, all in place: the ids stay.
        stack.set_config("clientName", prefix + "acme-corp")
        stack.set_config("clientColor", "#22c55e")
        stack.set_config("projectTags", "client")
        stack.up()
        out = stack.outputs()
        assert (out["project_id"], out["client_id"], out["team_id"]) == (pid, client_id, team_id)
        assert api.project.one(pid).tag_ids() == [client_id]
        renamed = api.tag.one(client_id)
        assert (renamed.name, renamed.color) == (prefix + "acme-corp", "#22c55e")
        stack.preview(expect_no_changes=True)

        stack.destroy()
        assert _tags_named(api, prefix) == [] and backend.get_project(pid) is None
        assert _state(stack, PROJECT) == [] and _state(stack, TAG) == []
    finally:
        with contextlib.suppress(Exception):
            stack.destroy()
        with contextlib.suppress(DokployError):  # tags outlive projects: the backend's cleanup misses them
            for tag in api.tag.all():
                if tag.name.startswith(prefix):
                    api.tag.remove(tag.tag_id)
        api.close()
