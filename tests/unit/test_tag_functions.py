"""get_tag / list_tags and their `_output` forms, against the emulator (v0.30.2, and v0.26.7 for the refusal)."""

from __future__ import annotations

import asyncio

import pulumi
import pytest

from dokploy_pulumi import (
    DokployClient,
    DokployLookupError,
    TagInfo,
    UnknownProcedureError,
    get_tag,
    get_tag_output,
    list_tags,
    list_tags_output,
)


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return [args.name + "_id", args.inputs]

    def call(self, args):
        return {}


def test_get_tag_by_id_and_by_exact_name(emu, api):
    acme = api.tag.create("client: ACME", color="#ef4444")
    api.tag.create("client: Globex")
    emu.reset_requests()
    expected = TagInfo(
        id=acme.tag_id,
        name="client: ACME",
        color="#ef4444",
        created_at=acme.created_at,
        organization_id=emu.organization_id,
    )
    assert get_tag(tag_id=acme.tag_id) == expected
    assert get_tag(name="client: ACME") == expected
    assert [r.procedure for r in emu.requests] == ["tag.one", "tag.all"]


def test_get_tag_misses_list_the_near_names(emu, api):
    api.tag.create("client: ACME")
    with pytest.raises(DokployLookupError) as info:
        get_tag(name="client: acme")  # names are exact
    assert info.value.candidates == [("client: ACME", api.tag.all()[0].tag_id)]
    with pytest.raises(DokployLookupError, match="no tag has the id 'nope'"):
        get_tag(tag_id="nope")
    with pytest.raises(ValueError, match="exactly one of tag_id or name"):
        get_tag()


def test_list_tags_by_name_and_a_server_without_tags(emu, api):
    api.tag.create("b")
    api.tag.create("a")
    assert [(t.name, t.color) for t in list_tags()] == [("a", ""), ("b", "")]
    emu.version = "v0.26.7"
    with pytest.raises(UnknownProcedureError, match=r"is v0\.26\.7, which has no procedure tag\.all \(v0\.29\.0"):
        list_tags()


@pytest.fixture
def mocks(emu):
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(Mocks(), preview=False)
    return emu


@pulumi.runtime.test
def test_output_forms_take_inputs(mocks):
    with DokployClient(mocks.url, mocks.api_key) as api:
        tag = api.tag.create("team")
    by_name = get_tag_output(name=pulumi.Output.from_input("team"))
    every = list_tags_output()

    def check(values):
        found, listed = values
        assert isinstance(found, TagInfo) and found.id == tag.tag_id
        assert [t.id for t in listed] == [tag.tag_id]

    return pulumi.Output.all(by_name, every).apply(check)
