"""The emulator's tag.* router beyond what the conformance suite can check on a real server: the
state file keeps tags and links, a project's removal cascades to its links, and bulkAssign's delete
before its insert (no transaction) on a repeated id."""

from __future__ import annotations

import pytest

from dokploy_pulumi import BadRequestError, DokployClient
from dokploy_pulumi.testing import DokployEmulator


def test_tags_and_links_survive_a_restart_and_go_with_their_project(tmp_path) -> None:
    state = tmp_path / "state.json"
    with DokployEmulator(state_file=state) as emu, DokployClient(emu.url, emu.api_key) as api:
        tag = api.tag.create("client", color="#fff")
        project = api.project.create("p").project.project_id
        api.tag.bulk_assign(project, [tag.tag_id])
        key = emu.api_key
    with DokployEmulator(state_file=state, api_key=key) as emu, DokployClient(emu.url, emu.api_key) as api:
        assert api.tag.one(tag.tag_id) == tag
        assert api.project.one(project).tag_ids() == [tag.tag_id]
        api.project.remove(project)
        assert api.tag.one(tag.tag_id) == tag  # the tag stays; only the link went
        assert emu._store.project_tags == {}


def test_a_repeated_id_in_bulk_assign_leaves_the_project_untagged() -> None:
    with DokployEmulator() as emu, DokployClient(emu.url, emu.api_key) as api:
        tag = api.tag.create("t")
        project = api.project.create("p").project.project_id
        api.tag.bulk_assign(project, [tag.tag_id])
        # The client sends each id once; sent twice, the server's delete has run before the insert fails.
        with pytest.raises(BadRequestError) as info:
            api.post("tag.bulkAssign", {"projectId": project, "tagIds": [tag.tag_id, tag.tag_id]})
        assert info.value.status == 400
        assert api.project.one(project).tag_ids() == []
        api.tag.bulk_assign(project, [tag.tag_id, tag.tag_id])  # the client's de-duplication
        assert api.project.one(project).tag_ids() == [tag.tag_id]
