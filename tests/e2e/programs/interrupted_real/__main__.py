"""A project with an environment (its env is set by a second request after the create) and a
second project: the test keeps the second project's create and the environment's env update from
ever reaching the server, then kills `pulumi up`. Names come from config (per-run prefixes)."""

import pulumi
from pulumi import ResourceOptions

from dokploy_pulumi import Environment, Project

config = pulumi.Config()
base = Project("base", name=config.require("base"), description="recover base")
staging = Environment(
    "staging",
    project_id=base.id,
    name="staging",
    description="pre-release",
    env={"DEBUG": "1", "TOKEN": "t0k-real-recover"},
)
app = Project(
    "app",
    name=config.require("app"),
    description="declared by the program",
    env={"N": "1"},
    opts=ResourceOptions(depends_on=[base]),
)
pulumi.export("staging_id", staging.id)
pulumi.export("app_id", app.id)
