"""The reference rules of the env-reference guard, against Dokploy's `prepareEnvironmentVariables`
(packages/server/src/utils/docker/utils.ts; the same on v0.25.11, v0.26.7 and v0.30.2)."""

from __future__ import annotations

from dokploy_pulumi._references import referenced, removed_keys
from dokploy_pulumi.testing.provider_server import UNKNOWN


def test_a_reference_is_dokploys_exact_spelling():
    keys = {"K", "K }", "k", "A.B", "K2"}
    assert referenced(["${{project.K}}"], "project", keys, {}) == {"K"}
    # The key is everything up to the first `}}`, case and spaces included; the prefix is lowercase.
    assert referenced(["${{project.K }}"], "project", {"K", "K "}, {}) == {"K "}
    assert referenced(["${{Project.K}}", "${{ project.K}}", "$${project.K}"], "project", keys, {}) == set()
    assert referenced(["a${{project.A.B}}b${{project.K2}}"], "project", keys, {}) == {"A.B", "K2"}
    # JS `.` stops at line terminators (a double-quoted dotenv value may span lines).
    assert referenced(["${{project.K\n}}", "${{project.K\u2028}}"], "project", keys, {}) == set()
    assert referenced(["${{environment.K}}"], "project", keys, {}) == set()


def test_environment_references_are_found_after_project_references_resolve():
    project_env = {"VIA": "${{environment.K}}", "PLAIN": "x"}
    assert referenced(["${{project.VIA}}"], "environment", {"K"}, project_env) == {"K"}
    assert referenced(["${{project.PLAIN}}"], "environment", {"K"}, project_env) == set()
    # A project variable is not rescanned for project references (one `replace` pass).
    assert referenced(["${{project.VIA}}"], "project", {"K"}, project_env) == set()


def test_removed_keys_are_the_states_keys_the_new_env_lacks():
    assert removed_keys({"env": {"A": "1", "B": "2"}}, {"env": {"A": "3", "C": "4"}}) == {"B"}
    assert removed_keys({"env": {"A": "1"}}, {"env": None}) == {"A"}
    assert removed_keys({"env": {"A": "1"}}, {"env": UNKNOWN}) == set()
    assert removed_keys({"env": {"A": "1"}}, {"env": {"B": UNKNOWN}}) == {"A"}  # keys known, values not
