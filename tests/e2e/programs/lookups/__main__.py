"""Lookups of objects made outside the stack, and declarative duplicates of them."""

import pulumi

import dokploy_pulumi as dokploy

cfg = pulumi.Config()

shop = dokploy.get_project_output(name=cfg.require("shopName"))
staging = dokploy.get_environment_output(project_id=shop.id, name="staging")
prod = dokploy.get_default_environment_output(shop.id)

review = dokploy.EnvironmentDuplicate(
    "review",
    source_environment_id=staging.id,
    name=cfg.get("reviewName") or "review-1",
    description="copy of staging",
)
# Configurable so that runs against a shared real server carry their own prefix.
sandbox_name = cfg.get("sandboxName") or "shop-sandbox"
sandbox = dokploy.ProjectDuplicate(
    "sandbox",
    source_environment_id=prod.id,
    name=sandbox_name,
    description="sandbox",
    force_destroy=True,
)

# A plain name, so only depends_on makes this look-up wait for the project the stack creates.
sandbox_found = dokploy.get_project_output(name=sandbox_name, opts=pulumi.InvokeOutputOptions(depends_on=[sandbox]))

pulumi.export("shop_id", shop.id)
pulumi.export("staging_env", staging.env)
pulumi.export("prod_id", prod.id)
pulumi.export("review_id", review.id)
pulumi.export("review_project_id", review.project_id)
pulumi.export("sandbox_id", sandbox.id)
pulumi.export("sandbox_default_environment_id", sandbox.default_environment_id)
pulumi.export("sandbox_found_id", sandbox_found.id)
