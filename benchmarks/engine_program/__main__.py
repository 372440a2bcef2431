"""The engine-level benchmark's stack: 1 Project, N Environments with env, N/4 EnvironmentDuplicates.

Stack config (set by benchmarks/engine.py):
  bench:provider    "ours" (dokploy_pulumi) or "null" (engine_null: same shape, no HTTP)
  bench:n           number of Environments
  bench:duplicates  number of EnvironmentDuplicates (default n // 4)
  bench:generation  1 at create; raising it changes description and env of every resource
The Dokploy URL and key come from DOKPLOY_URL / DOKPLOY_API_KEY (nothing secret in config).
"""

import pulumi

cfg = pulumi.Config("bench")
n = cfg.require_int("n")
duplicates = cfg.get_int("duplicates")
duplicates = n // 4 if duplicates is None else duplicates
gen = str(cfg.get_int("generation") or 1)

if cfg.require("provider") == "null":
    from engine_null import Environment, EnvironmentDuplicate, Project
else:
    from dokploy_pulumi import Environment, EnvironmentDuplicate, Project

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
