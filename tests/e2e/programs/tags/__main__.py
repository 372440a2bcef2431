"""Two tags and a project; which tags the project has, and the tags' names and colors, come from config."""

import pulumi

import dokploy_pulumi as dokploy

cfg = pulumi.Config()

tags = {
    key: dokploy.Tag(key, name=cfg.require(f"{key}Name"), color=cfg.get(f"{key}Color")) for key in ("client", "team")
}
project = dokploy.Project(
    "project",
    name=cfg.require("projectName"),
    tags=[tags[key].id for key in cfg.require("projectTags").split(",") if key],
)

pulumi.export("project_id", project.id)
pulumi.export("project_tags", project.tags)
pulumi.export("client_id", tags["client"].id)
pulumi.export("team_id", tags["team"].id)
