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


def test_service_reads_run_a_few_at_once_in_the_callers_redaction_context():
    import threading

    from dokploy_pulumi._models import EnvironmentRow, ServiceEnv
    from dokploy_pulumi._redact import _EXTRA, more_secrets
    from dokploy_pulumi._references import _READS_AT_ONCE, breakages

    seen: list[tuple[str, tuple[str, ...]]] = []
    # Every worker waits here until all of them are in flight: the reads overlap, or this times out.
    together = threading.Barrier(_READS_AT_ONCE, timeout=10)

    class Services:
        def env(self, kind: str, service_id: str) -> ServiceEnv:
            together.wait()
            seen.append((service_id, _EXTRA.get()))
            return ServiceEnv(env=f"X=${{{{project.{service_id}}}}}")

    class Client:
        service = Services()

    ids = [f"K{i}" for i in range(_READS_AT_ONCE * 2)]
    row = EnvironmentRow.model_validate(
        {"environmentId": "e", "name": "production", "applications": [{"applicationId": i, "name": i} for i in ids]}
    )
    with more_secrets(["old-secret-value"]):
        found = breakages(Client(), "project", [row], set(ids), {})  # type: ignore[arg-type]
    assert [b.service.id for b in found] == ids and [b.keys for b in found] == [(i,) for i in ids]  # listed order
    assert sorted(s for s, _ in seen) == sorted(ids)
    assert all(extra == ("old-secret-value",) for _, extra in seen)
