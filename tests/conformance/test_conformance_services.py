"""The service procedures the env-reference guard reads (issue 21), and the two that make a service
with variables without Docker: `application.create`, `application.saveEnvironment`, `<type>.one`.

Where the variables are: every release answers them in `<type>.one`; releases with whole-row reads
(before v0.29.14) nest them in `project.one` / `environment.one` too, slim ones do not.
"""

from __future__ import annotations

from typing import Any

import pytest
from _contract import attempt

from dokploy_pulumi import InputValidationError, NotFoundError

VARIABLES = {"env": "DB=${{project.DATABASE_URL}}", "buildArgs": "V=${{environment.REGION}}", "buildSecrets": ""}


def _application(client, environment_id: str, name: str) -> str:
    made = client.post("application.create", {"name": name, "environmentId": environment_id})
    if isinstance(made, dict):
        return str(made["applicationId"])
    # v0.25.x answers `true`: the record is found in its environment.
    assert made is True
    listed = client.get("environment.one", {"environmentId": environment_id})["applications"]
    (found,) = [a for a in listed if a["name"] == name]
    return str(found["applicationId"])


def _nested(data: dict[str, Any]) -> dict[str, Any]:
    (app,) = data["applications"]
    return app


def test_an_application_keeps_its_variables_and_reads_show_them_by_release(client, make_project, release):
    made = make_project("svc-vars", env="DATABASE_URL=x")
    env_id = made.environment.environment_id
    app = _application(client, env_id, "web")
    saved = client.post("application.saveEnvironment", {"applicationId": app, **VARIABLES, "createEnvFile": True})
    assert saved is True

    one = client.get("application.one", {"applicationId": app})
    assert one["applicationId"] == app and one["name"] == "web"
    assert {k: one[k] for k in VARIABLES} == VARIABLES
    assert client.service.env("application", app).columns() == VARIABLES

    in_project = _nested(client.get("project.one", {"projectId": made.project.project_id})["environments"][0])
    in_environment = _nested(client.get("environment.one", {"environmentId": env_id}))
    for nested in (in_project, in_environment):
        assert nested["applicationId"] == app
        if release.slim_reads:
            assert not set(VARIABLES) & set(nested)
        else:
            assert {k: nested[k] for k in VARIABLES} == VARIABLES


def test_save_environment_needs_every_text_since_the_framework_upgrade(client, make_project, release):
    app = _application(client, make_project("svc-save").environment.environment_id, "web")
    client.post("application.saveEnvironment", {"applicationId": app, **VARIABLES, "createEnvFile": True})
    saved = attempt(
        lambda: client.post("application.saveEnvironment", {"applicationId": app, "env": "A=1", "createEnvFile": True})
    )
    after = client.service.env("application", app).columns()

    def refused() -> None:
        assert isinstance(saved.error, InputValidationError) and saved.error.status == 400
        assert {"buildArgs", "buildSecrets"} <= set(saved.error.field_errors)
        assert after == VARIABLES

    def left_as_they_were() -> None:  # drizzle-zod's schema: optional, and an absent column is not written
        assert saved.error is None and saved.value is True
        assert after == {**VARIABLES, "env": "A=1"}

    release.expect("hand_written_schemas", new=refused, old=left_as_they_were)


def test_one_of_a_missing_service_is_404(client, missing_id):
    for kind in ("application", "postgres"):
        with pytest.raises(NotFoundError) as err:
            client.service.env(kind, missing_id)
        assert err.value.status == 404 and err.value.procedure == f"{kind}.one"
