"""One ProjectDuplicate of an environment made outside the stack; what it copies comes from config."""

import json

import pulumi

import dokploy_pulumi as dokploy

cfg = pulumi.Config()

copy = dokploy.ProjectDuplicate(
    "copy",
    source_environment_id=cfg.require("sourceEnvironmentId"),
    name=cfg.require("copyName"),
    selected_services=json.loads(cfg.require("selected")),
    force_destroy=cfg.get_bool("forceDestroy") or False,
)

pulumi.export("copy_id", copy.id)
pulumi.export("copy_environment_id", copy.default_environment_id)
