"""Quickstart: one Dokploy project with a staging environment and the default production one.

Configure where Dokploy is (or export DOKPLOY_URL / DOKPLOY_API_KEY):
    pulumi config set dokploy:url https://dokploy.example.com
    pulumi config set --secret dokploy:apiKey <key>
"""

import pulumi

from dokploy_pulumi import Environment, Project

config = pulumi.Config()
name = config.get("projectName") or "My SaaS"

app = Project(
    "app",
    name=name,
    description="Managed by Pulumi",
    env={"LOG_LEVEL": "info"},
)

staging = Environment(
    "staging",
    project_id=app.id,
    name="staging",
    description="Pre-release checks",
    env={"DEBUG": "1"},
)

# "production" is the environment Dokploy creates with every project: declaring it adopts it.
prod = Environment(
    "prod",
    project_id=app.id,
    name="production",
    env={"LOG_LEVEL": "warn"},
)

pulumi.export("project_id", app.id)
pulumi.export("project_name", app.name)
pulumi.export("default_environment_id", app.default_environment_id)
pulumi.export("staging_environment_id", staging.id)
pulumi.export("production_environment_id", prod.id)
pulumi.export("production_is_default", prod.is_default)
