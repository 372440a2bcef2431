"""An e2e program whose shape is driven by stack config, so one program covers each scenario."""

import pulumi
from pulumi import ResourceOptions

from dokploy_pulumi import Environment, Project

cfg = pulumi.Config()

app = Project(
    "app",
    name=cfg.get("appName") or "e2e-app",
    description=cfg.get("appDescription"),
    env={"LOG_LEVEL": cfg.get("logLevel") or "info", "SECRET_TOKEN": cfg.get("secretToken") or "tok-e2e-value-1"},
    force_destroy=cfg.get_bool("forceDestroy") or False,
)
other = Project("other", name="e2e-other")

staging = Environment(
    "staging",
    project_id=other.id if cfg.get("stagingIn") == "other" else app.id,
    name="staging",
    description=cfg.get("stagingDescription"),
    env={"DEBUG": cfg.get("debug") or "1"},
)
pulumi.export("app_id", app.id)
pulumi.export("other_id", other.id)
pulumi.export("staging_id", staging.id)
pulumi.export("default_environment_id", app.default_environment_id)

if cfg.get_bool("withProd") is not False:
    prod = Environment(
        "prod",
        project_id=app.id,
        name="production",
        description=cfg.get("prodDescription"),
        env={"LOG_LEVEL": cfg.get("prodLogLevel") or "warn"},
    )
    pulumi.export("prod_id", prod.id)
    pulumi.export("prod_is_default", prod.is_default)

if cfg.get("importId"):
    # Pulumi's own import: the engine sends no __provider for dynamic resources.
    Project("imported", name="imported", opts=ResourceOptions(import_=cfg.get("importId")))

if cfg.get("getId"):
    # A get-style read of an existing project (ResourceOptions(id=...)).
    got = Project("got", name="whatever", opts=ResourceOptions(id=cfg.get("getId")))
    pulumi.export("got_name", got.name)
