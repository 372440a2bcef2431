"""The platform stack: one Dokploy project and the staging environment every review copies.

A normal Pulumi program, run with the CLI (`pulumi up` in this folder). The review environments
(../review.py) live in stacks of their own and read this stack's outputs through a
`StackReference`: they never change anything declared here.

Where Dokploy is: DOKPLOY_URL and DOKPLOY_API_KEY (recommended), or `dokploy:url` and
`dokploy:apiKey` in this stack's config.
"""

import pulumi

import dokploy_pulumi as dokploy

config = pulumi.Config()

app = dokploy.Project(
    "app",
    name=config.get("projectName") or "review-demo",
    description="Owned by the platform stack; review environments are added by review.py",
)

# Every review environment starts from these variables (review.py adds its per-PR overrides).
# Set them as a secret, since they usually hold credentials:
#   pulumi config set --secret stagingEnv '{"DATABASE_URL": "postgres://...", "LOG_LEVEL": "debug"}'
# (The engine stores the whole stack config in this stack's state; --secret keeps it encrypted.)
staging = dokploy.Environment(
    "staging",
    project_id=app.id,
    name="staging",
    description="What every review environment copies",
    env=config.get_secret_object("stagingEnv") or {"LOG_LEVEL": "debug", "FEATURE_FLAGS": "beta"},
)

# Review environments (review.py) live in this project but in stacks of their own. Pulumi destroys
# dependents first, so without this guard `pulumi destroy` would delete `staging` and only then
# find the project still holding PR environments. The guard depends on the project and on every
# environment declared here, so it is deleted first, and refuses while the project holds any other
# environment: the destroy then stops with nothing deleted. List every environment this program
# declares in the project (an Environment dropped from the program is just dropped from the list).
dokploy.ProjectGuard("app-guard", project_id=app.id, environment_ids=[staging.id])

pulumi.export("project_id", app.id)
pulumi.export("staging_environment_id", staging.id)
# A secret output (Environment.env is secret), so review stacks receive it encrypted.
pulumi.export("staging_env", staging.env)
