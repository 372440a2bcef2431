"""One project whose env loses DATABASE_URL when `dropDatabaseUrl` is set (the env-reference guard)."""

import pulumi

from dokploy_pulumi import Project

cfg = pulumi.Config()
env = {"LOG_LEVEL": "info"}
if not cfg.get_bool("dropDatabaseUrl"):
    env["DATABASE_URL"] = "postgres://db-e2e:5432/shop"

shop = Project(
    "shop",
    name="e2e-shop",
    env=env,
    allow_breaking_env_references=cfg.get_bool("allowBreaking") or False,
)
pulumi.export("shop_id", shop.id)
pulumi.export("default_environment_id", shop.default_environment_id)
