"""A ProjectDuplicate whose copy holds services, replaced through the real CLI (issue 23).

`backend` is the emulator, or a real Dokploy in the real tier (DOKPLOY_URL/DOKPLOY_API_KEY; the
services are made with `application.create`, which needs no Docker). Changing `selected_services`
replaces the project; the old copy holds the services it copied and force_destroy is off, so its
delete would be refused. Before, `up` created the new copy first and then failed on the old one's
delete: two projects of one name, the old one stuck in Dokploy and in the state. Now the preview
refuses, naming the two ways out, and the test follows each: force_destroy recorded by an `up` of
its own, then the change; and the services deleted in Dokploy, then `up`. Every step ends with
exactly one copy, in Dokploy and in the state, and destroy leaves nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from _backend import n
from _pulumi import PulumiStack, PulumiStackFactory

from dokploy_pulumi import DokployClient

PROGRAM = Path(__file__).parent / "programs" / "duplicate_replace"
COPY = "pulumi-python:dynamic/dokploy:ProjectDuplicate"

# About 12 CLI commands, each up to 240 s on a slow real server in dev mode.
pytestmark = pytest.mark.timeout(1800)


def copies(backend: Any, name: str) -> list[dict[str, Any]]:
    return [p for p in backend.projects() if p["name"] == name]


def project_detail(backend: Any, project_id: str) -> dict[str, Any]:
    """`project.one`: the project with its environments and their services."""
    with DokployClient(backend.url, backend.api_key) as api:
        return dict(api.get("project.one", {"projectId": project_id}))


def copied_apps(backend: Any, project_id: str) -> list[str]:
    """Names of the applications in the copy's environments (project.duplicate puts them in its default one)."""
    detail = project_detail(backend, project_id)
    return sorted(app["name"] for env in detail.get("environments", []) for app in env.get("applications") or [])


def state_copies(stack: PulumiStack) -> list[str]:
    return [r["id"] for r in stack.resources() if r["type"] == COPY]


def test_project_duplicate_replace_with_services_never_strands_a_copy(backend, pulumi_stack: PulumiStackFactory):
    source_project = backend.create_project(n("src"))["projectId"]
    with DokployClient(backend.url, backend.api_key) as api:
        staging = api.environment.create(source_project, "staging").environment_id
    web = backend.add_service(staging, "application", "web")
    worker = backend.add_service(staging, "application", "worker")
    name = n("copy")

    env: dict[str, Any] = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update({"DOKPLOY_URL": backend.url, "DOKPLOY_API_KEY": backend.api_key})
    stack = pulumi_stack(PROGRAM, env=env)
    stack.init()
    stack.set_config("sourceEnvironmentId", staging)
    stack.set_config("copyName", name)
    stack.set_config("selected", json.dumps([{"id": web, "type": "application"}]))

    try:
        stack.up()
        first = stack.outputs()["copy_id"]
        assert [p["projectId"] for p in copies(backend, name)] == [first]
        assert copied_apps(backend, first) == ["web"]

        # -- the change that replaces: refused at preview and at up, before anything happens ------
        both = json.dumps([{"id": web, "type": "application"}, {"id": worker, "type": "application"}])
        stack.set_config("selected", both)
        backend.reset_requests()
        refused = stack.preview(expect_failure=True)
        text = refused.result.output
        assert f"ProjectDuplicate '{name}' ({first}): replace failed: changing selected_services replaces" in text
        assert "application 'web'" in text and "force_destroy=True" in text and "delete those services" in text
        assert "KeyboardInterrupt" not in text and "Traceback" not in text
        assert {r.method for r in backend.requests} == {"GET"}  # the preview only read
        failed = stack.up(expect_failure=True)
        assert "replace failed: changing selected_services replaces" in failed.output
        assert {r.method for r in backend.requests} == {"GET"}
        assert [p["projectId"] for p in copies(backend, name)] == [first] and state_copies(stack) == [first]

        # Setting force_destroy in the same change is not enough, and the error says so.
        stack.set_config("forceDestroy", "true")
        same_time = stack.preview(expect_failure=True).result.output
        assert "does not help" in same_time
        assert [p["projectId"] for p in copies(backend, name)] == [first]

        # -- way 1, as the error words it: force_destroy alone first, then the change -------------
        stack.set_config("selected", json.dumps([{"id": web, "type": "application"}]))
        backend.reset_requests()
        stack.up()  # only records force_destroy
        assert {r.method for r in backend.requests} <= {"GET"}
        assert state_copies(stack) == [first]
        stack.set_config("selected", both)
        stack.up()
        second = stack.outputs()["copy_id"]
        assert second != first
        assert [p["projectId"] for p in copies(backend, name)] == [second]  # exactly one copy
        assert backend.get_project(first) is None and state_copies(stack) == [second]
        assert copied_apps(backend, second) == ["web", "worker"]
        stack.preview(expect_no_changes=True)

        # -- way 2: delete the copied services in Dokploy, then the change ------------------------
        stack.set_config("forceDestroy", "false")
        stack.up()
        stack.set_config("selected", json.dumps([{"id": worker, "type": "application"}]))
        refused = stack.preview(expect_failure=True).result.output
        assert "application 'web'" in refused and "application 'worker'" in refused
        detail = project_detail(backend, second)
        for environment in detail["environments"]:
            for app in environment.get("applications") or []:
                backend.remove_service(app["applicationId"], "application")
        stack.up()
        third = stack.outputs()["copy_id"]
        assert third not in (first, second)
        assert [p["projectId"] for p in copies(backend, name)] == [third] and state_copies(stack) == [third]
        assert copied_apps(backend, third) == ["worker"]
        stack.preview(expect_no_changes=True)

        # Destroy, the way its own refusal says: force_destroy recorded first.
        refused_destroy = stack.destroy(expect_failure=True).output
        assert "application 'worker'" in refused_destroy and "force_destroy=True" in refused_destroy
        assert [p["projectId"] for p in copies(backend, name)] == [third] and state_copies(stack) == [third]
        stack.set_config("forceDestroy", "true")
        stack.up()
        stack.destroy()
    except BaseException:
        try:
            stack.destroy()
        except Exception as exc:  # the backend's cleanup removes what is left
            print(f"destroy after a failed test failed too: {exc}")
        raise
    assert copies(backend, name) == [] and state_copies(stack) == []
    assert backend.get_project(source_project) is not None  # the source is not ours
    source = [e for e in project_detail(backend, source_project)["environments"] if e["environmentId"] == staging]
    assert sorted(a["name"] for a in source[0].get("applications") or []) == ["web", "worker"]
