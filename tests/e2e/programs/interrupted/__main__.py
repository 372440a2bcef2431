"""Several creates that run at once: one project first, then (depending on it) three projects and an
environment with env, so that a kill can catch four creates in flight."""

import pulumi
from pulumi import ResourceOptions

from dokploy_pulumi import Environment, Project

base = Project("base", name="recover-base", description="first")
staging = Environment(
    "staging",
    project_id=base.id,
    name="staging",
    description="pre-release",
    env={"DEBUG": "1", "TOKEN": "t0k-recover"},
)
apps = [
    Project(f"app{i}", name=f"recover-app{i}", env={"N": str(i)}, opts=ResourceOptions(depends_on=[base]))
    for i in (1, 2, 3)
]
pulumi.export("base_id", base.id)
pulumi.export("staging_id", staging.id)
pulumi.export("app_ids", [a.id for a in apps])
