"""What each stack declares comes from its config, so that several stacks of one project hold
different objects. The stack `adopted` runs the program `drift --generate` wrote (adopted.py)."""

import json

import pulumi

from dokploy_pulumi import Environment, Project

if pulumi.get_stack().rsplit("/", 1)[-1] == "adopted":
    import adopted  # noqa: F401  (the generated program declares everything when imported)
else:
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
