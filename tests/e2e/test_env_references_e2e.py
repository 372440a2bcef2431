"""The env-reference guard through the real Pulumi CLI, against the emulator (issue 21): `pulumi
preview` and `pulumi up` stop a removal of a project env key an application refers to, naming the
application and the key, with nothing written; the opt-out lets `up` remove it."""

from __future__ import annotations

import os
from pathlib import Path

from _pulumi import PulumiStackFactory

from dokploy_pulumi import DokployClient
from dokploy_pulumi.testing import DokployEmulator

PROGRAM = Path(__file__).parent / "programs" / "env_references"
API_KEY = "e2e-env-references-key-0123456789"


def test_up_refuses_to_remove_a_key_an_application_uses_until_opted_out(pulumi_stack: PulumiStackFactory):
    with DokployEmulator(api_key=API_KEY) as emu, DokployClient(emu.url, API_KEY) as api:
        env: dict = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
        stack = pulumi_stack(PROGRAM, env={**env, "DOKPLOY_API_KEY": API_KEY})
        stack.init()
        stack.set_config("dokploy:url", emu.url)
        stack.up()
        out = stack.outputs()
        made = api.post("application.create", {"name": "storefront", "environmentId": out["default_environment_id"]})
        api.post(
            "application.saveEnvironment",
            {
                "applicationId": made["applicationId"],
                "env": "DB=${{project.DATABASE_URL}}",
                "buildArgs": "",
                "buildSecrets": "",
                "createEnvFile": True,
            },
        )

        stack.set_config("dropDatabaseUrl", "true")
        for result in (stack.preview(expect_failure=True).result, stack.up(expect_failure=True)):
            text = result.output
            assert "removing project env key(s) DATABASE_URL" in text
            assert "application 'storefront'" in text and "${{project.DATABASE_URL}}" in text
            assert "db-e2e" not in text  # the value is a secret
        assert "DATABASE_URL=" in emu.get_project(out["shop_id"])["env"]

        stack.set_config("allowBreaking", "true")
        stack.up()
        assert "DATABASE_URL" not in emu.get_project(out["shop_id"])["env"]
        stack.preview(expect_no_changes=True)
