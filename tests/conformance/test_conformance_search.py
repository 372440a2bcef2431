"""project.search and environment.search: q/name/description, wildcards, paging, order, limits.

The two procedures exist since v0.28.3. On older releases the router answers 404, and the client's
`search` computes the same page from `project.all` / `project.one` with the same matching rules:
so the tests that go through `client.project.search` / `client.environment.search` hold on every
release, and those that call the procedure itself say what the release answers.
"""

from __future__ import annotations

import pytest
from _contract import expect_router_404

from dokploy_pulumi import InputValidationError, UnknownProcedureError


@pytest.fixture
def trio(make_project, prefix, uprefix):
    """Three projects, oldest first: one matches "needle" by name, one by description, one not at all."""
    sub = uprefix[len(prefix) :]
    by_name = make_project(sub + "Needle-one", description="plain")
    by_desc = make_project(sub + "two", description=f"about {uprefix.upper()}NEEDLE stuff")
    neither = make_project(sub + "three")
    return by_name.project, by_desc.project, neither.project


def _ids(page):
    return [row.project_id for row in page.items]


def test_q_matches_name_or_description_case_insensitively_newest_first(client, trio, uprefix):
    by_name, by_desc, _ = trio
    page = client.project.search(f"{uprefix}NeEdLe")
    assert _ids(page) == [by_desc.project_id, by_name.project_id]
    assert page.total == 2


def test_terms_are_trimmed(client, trio, uprefix):
    by_name, by_desc, _ = trio
    assert _ids(client.project.search(f"  {uprefix}needle \t")) == [by_desc.project_id, by_name.project_id]
    assert _ids(client.project.search(name=f"  {uprefix}needle-one  ")) == [by_name.project_id]


def test_name_and_description_filters(client, trio, uprefix):
    by_name, by_desc, _ = trio
    assert _ids(client.project.search(name=f"{uprefix}needle")) == [by_name.project_id]
    assert _ids(client.project.search(description=f"{uprefix}needle")) == [by_desc.project_id]
    # filters combine with AND
    assert client.project.search(name=f"{uprefix}needle", description="nothing-like-this").total == 0


def test_percent_and_underscore_act_as_wildcards(client, trio, uprefix):
    by_name, by_desc, third = trio
    assert _ids(client.project.search(f"{uprefix}ne_dle")) == [by_desc.project_id, by_name.project_id]
    assert _ids(client.project.search(name=f"{uprefix}%one")) == [by_name.project_id]
    assert _ids(client.project.search(name=f"{uprefix}t%e")) == [third.project_id]
    assert client.project.search(name=f"{uprefix}t_e").total == 0  # `_` is exactly one character


def test_the_procedure_or_the_routers_404(client, trio, uprefix, release, raw, new_client):
    answer = raw.get("project.search", params={"name": uprefix + "needle-one"})
    fresh = new_client()
    assert fresh.supports("project.search") is True  # until the router says otherwise
    fresh.project.search(name=uprefix)
    if not release.has_search:
        assert answer.status_code == 404
        expect_router_404(release, answer.json())
        assert fresh.supports("project.search") is False  # learned once, then answered locally
        return
    assert fresh.supports("project.search") is True
    (row,) = answer.json()["items"]
    assert {"projectId", "name", "description", "createdAt", "organizationId", "env"} == set(row)


def test_limit_offset_and_total(client, trio, uprefix):
    by_name, by_desc, third = trio
    newest_first = [third.project_id, by_desc.project_id, by_name.project_id]
    full = client.project.search(name=uprefix)
    assert _ids(full) == newest_first and full.total == 3
    first = client.project.search(name=uprefix, limit=2)
    assert _ids(first) == newest_first[:2] and first.total == 3
    second = client.project.search(name=uprefix, limit=2, offset=2)
    assert _ids(second) == newest_first[2:] and second.total == 3
    past = client.project.search(name=uprefix, offset=10)
    assert past.items == [] and past.total == 3


def test_no_match_is_an_empty_page(client, prefix):
    page = client.project.search(prefix + "does-not-exist")
    assert page.items == [] and page.total == 0


@pytest.mark.parametrize(
    "kwargs, field",
    [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"offset": -1}, "offset")],
)
@pytest.mark.parametrize("router", ["project", "environment"])
def test_out_of_range_paging_is_a_validation_error(client, router, kwargs, field, release):
    if not release.has_search:  # nothing on the server validates paging: the procedure is missing
        with pytest.raises(UnknownProcedureError):
            client.get(f"{router}.search", {k: str(v) for k, v in kwargs.items()})
        return
    with pytest.raises(InputValidationError) as info:
        getattr(client, router).search(**kwargs)
    exc = info.value
    assert exc.status == 400
    assert exc.server_message == "Input validation failed"
    assert exc.field_errors.get(field)
    assert f"{router}.search" in str(exc)


def test_limit_bounds_are_inclusive(client, trio, uprefix):
    assert len(client.project.search(name=uprefix, limit=1).items) == 1
    assert client.project.search(name=uprefix, limit=100).total == 3


# -- environment.search ---------------------------------------------------------------------------


def test_environment_search_by_project_id(client, make_project, prefix):
    a = make_project("es-a")
    b = make_project("es-b")
    staging = client.environment.create(a.project.project_id, prefix + "staging", description="Stage ONE")
    client.environment.create(b.project.project_id, prefix + "staging")
    page = client.environment.search(project_id=a.project.project_id)
    assert page.total == 2
    assert [e.environment_id for e in page.items] == [staging.environment_id, a.environment.environment_id]
    row = page.items[0]
    assert row.created_at and row.project_id == a.project.project_id and row.env == ""


def test_environment_search_rows_are_full_rows_without_services(client, make_project, release):
    a = make_project("es-rows")
    if not release.has_search:
        with pytest.raises(UnknownProcedureError):
            client.get("environment.search", {"projectId": a.project.project_id})
        return
    data = client.get("environment.search", {"projectId": a.project.project_id})
    assert set(data["items"][0]) == {
        "environmentId", "name", "description", "createdAt", "env", "projectId", "isDefault"
    }  # fmt: skip


def test_environment_search_terms(client, make_project, uprefix):
    a = make_project("et-a")
    pid = a.project.project_id
    first = client.environment.create(pid, uprefix + "Alpha", description="x")
    second = client.environment.create(pid, uprefix + "beta", description=f"mentions {uprefix}alpha")
    both = client.environment.search(f"  {uprefix}ALPHA ", project_id=pid)
    assert [e.environment_id for e in both.items] == [second.environment_id, first.environment_id]
    assert [e.environment_id for e in client.environment.search(name=f"{uprefix}alpha").items] == [first.environment_id]
    assert client.environment.search(description="production environment", project_id=pid).total == 1
    assert client.environment.search(name="production", project_id=pid, limit=1, offset=1).items == []
    assert client.environment.search(f"{uprefix}_lpha", project_id=pid).total == 2
