"""Lookups and duplicates through the real engine: functions at preview, secret env, replace/delete."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
from _pulumi import PulumiStackFactory

from dokploy_pulumi.testing import DokployEmulator

PROGRAM = Path(__file__).parent / "programs" / "lookups"
API_KEY = "e2e-lookups-key-0123456789"


def test_lookups_and_duplicates_end_to_end(pulumi_stack: PulumiStackFactory):
    with DokployEmulator(api_key=API_KEY) as emu:
        made = emu.create_project("shop")
        shop_id = made["projectId"]
        created = httpx.post(
            f"{emu.url}/api/environment.create",
            json={"projectId": shop_id, "name": "staging"},
            headers={"x-api-key": API_KEY},
        ).json()
        emu.set_environment_fields(created["environmentId"], env="FEATURE=on\nTOKEN=stg-secret-99\n")
        env = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
        env.update({"DOKPLOY_URL": emu.url, "DOKPLOY_API_KEY": API_KEY})
        stack = pulumi_stack(PROGRAM, env=env)
        stack.init()
        stack.set_config("shopName", "shop")

        preview = stack.preview()
        steps = {s.name: s.op for s in preview.steps() if s.op != "same"}
        assert steps == {"review": "create", "sandbox": "create"}
        stack.up()
        out = stack.outputs()
        assert out["shop_id"] == shop_id and out["staging_env"] == "[secret]"
        assert stack.outputs(show_secrets=True)["staging_env"]["TOKEN"] == "stg-secret-99"
        assert "stg-secret-99" not in json.dumps(stack.export())
        review = emu.get_environment(out["review_id"])
        assert review["projectId"] == shop_id and "TOKEN=stg-secret-99" in review["env"]
        sandbox = emu.get_project(out["sandbox_id"])
        assert sandbox["name"] == "shop-sandbox"
        assert out["sandbox_found_id"] == out["sandbox_id"]  # the look-up waited for its create (depends_on)
        stack.preview(expect_no_changes=True)

        stack.set_config("reviewName", "review-2")
        assert {s.name: s.op for s in stack.preview().steps() if s.op != "same"} == {"review": "update"}
        stack.up()
        assert emu.get_environment(out["review_id"])["name"] == "review-2"

        stack.destroy()
        assert emu.get_environment(out["review_id"]) is None
        assert emu.get_project(out["sandbox_id"]) is None
        assert emu.get_project(shop_id) is not None  # looked up, never owned
        assert emu.get_environment(created["environmentId"]) is not None
