"""`pulumi up` behind a reverse proxy whose `Date` is its own, when a create's answer is lost
(issue 19, case 6), with the real CLI against the emulator.

The proxy (tests/_recording_proxy.py) stamps every answer with its own clock 2 s ahead, as an nginx
on a host whose clock runs ahead would, and loses the answer of the first `project.create` after
the server has made the project. `up` must adopt that project: one project per name, each in state,
and a second `up` with nothing to do (no orphan now, no duplicate next run).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from _pulumi import PulumiStack, PulumiStackFactory
from _recording_proxy import RecordingProxy

from dokploy_pulumi.testing import DokployEmulator

PROGRAM = Path(__file__).parent / "programs" / "basic"
API_KEY = "e2e-proxy-date-key-0123456789"


@pytest.fixture
def emu():
    with DokployEmulator(api_key=API_KEY) as e:
        yield e


@pytest.fixture
def proxy(emu):
    p = RecordingProxy(emu.url).start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def stack(proxy: RecordingProxy, pulumi_stack: PulumiStackFactory) -> PulumiStack:
    env: dict = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env["DOKPLOY_API_KEY"] = API_KEY
    s = pulumi_stack(PROGRAM, env=env)
    s.init()
    s.set_config("dokploy:url", proxy.url)
    return s


@pytest.mark.parametrize("date", [2.0, -29.0, "absent"], ids=["ahead-2s", "behind-29s", "no-date"])
def test_up_adopts_the_project_whose_answer_the_proxy_lost(emu, proxy, stack, date):
    proxy.date = date
    proxy.lose_answer("project.create")
    stack.up()
    assert proxy.count("project.create", "POST") == 2  # one per project: the lost one was not repeated
    names = Counter(p["name"] for p in emu.projects())
    assert names == Counter({"e2e-app": 1, "e2e-other": 1})  # no duplicate, no orphan
    outputs = stack.outputs()
    by_name = {p["name"]: p["projectId"] for p in emu.projects()}
    assert (outputs["app_id"], outputs["other_id"]) == (by_name["e2e-app"], by_name["e2e-other"])
    stack.preview(expect_no_changes=True)
