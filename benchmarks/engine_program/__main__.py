"""The engine-level benchmark's stack: 1 Project, N Environments with env, N/4 EnvironmentDuplicates.

Stack config (set by benchmarks/engine_stack.py):
  bench:provider    "ours" (dokploy_pulumi) or "null" (benchmarks.engine_null: same shape, no HTTP)
  bench:n           number of Environments
  bench:duplicates  number of EnvironmentDuplicates (default n // 4)
  bench:generation  1 at create; raising it changes description and env of every resource
The Dokploy URL and key come from DOKPLOY_URL / DOKPLOY_API_KEY (nothing secret in config).
"""

from collections.abc import Callable

import pulumi

#: A resource class of either provider: `Cls(name, **inputs)`.
Make = Callable[..., pulumi.CustomResource]


def resource_classes(provider: str) -> tuple[Make, Make, Make]:
    """Project, Environment and EnvironmentDuplicate of one provider, importing only that one (the
    benchmark measures what a program pays for its provider, imports included)."""
    if provider == "null":
        from benchmarks import engine_null

        return engine_null.Project, engine_null.Environment, engine_null.EnvironmentDuplicate
    import dokploy_pulumi

    return dokploy_pulumi.Project, dokploy_pulumi.Environment, dokploy_pulumi.EnvironmentDuplicate


cfg = pulumi.Config("bench")
n = cfg.require_int("n")
duplicates = cfg.get_int("duplicates")
duplicates = n // 4 if duplicates is None else duplicates
gen = str(cfg.get_int("generation") or 1)
Project, Environment, EnvironmentDuplicate = resource_classes(cfg.require("provider"))

project = Project("app", name="engine-bench", description=f"generation {gen}", env={"GEN": gen})
environments = [
    Environment(
        f"env-{i}",
        project_id=project.id,
        name=f"env-{i}",
        description=f"generation {gen}",
        env={"GEN": gen, "INDEX": str(i)},
    )
    for i in range(n)
]
copies = [
    EnvironmentDuplicate(
        f"copy-{j}",
        source_environment_id=environments[j].id,
        name=f"copy-{j}",
        description=f"copy generation {gen}",
        env={"GEN": gen, "PR": str(j)},
    )
    for j in range(duplicates)
]
pulumi.export("project_id", project.id)
