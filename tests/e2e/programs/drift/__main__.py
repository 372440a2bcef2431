"""What each stack declares comes from its config, so that several stacks of one project hold
different objects."""

import json

import pulumi

from dokploy_pulumi import Environment, Project

cfg = pulumi.Config()
environments = json.loads(cfg.get("environments") or "{}")
# {"logical": "name"}: projects this stack creates, with the environments listed for them.
for logical, name in json.loads(cfg.get("projects") or "{}").items():
    project = Project(logical, name=name)
    pulumi.export(f"{logical}_id", project.id)
    for env in environments.get(logical, []):
        pulumi.export(f"{logical}_{env}_id", Environment(f"{logical}_{env}", project_id=project.id, name=env).id)
# {"logical": ["project id", "name"]}: projects this stack adopts.
for logical, (project_id, name) in json.loads(cfg.get("adopt") or "{}").items():
    Project(logical, name=name, adopt_id=project_id)
