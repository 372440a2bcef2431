"""What `benchmarks/run.py` does: N Projects and 2N Environments through create, read, update and
delete, and the fewest requests the API allows for each operation (`OPS`, README "Benchmarks").

Every project has `description` and `env` set, and gets two non-default environments ("staging"
and "preview"), each with `description` and `env`; the update changes description and env of
every resource. (Not the adopted default environment: its minimum depends on what the caller
already knows, so the comparison would measure a difference of meaning, not overhead.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from google.protobuf import struct_pb2

from dokploy_pulumi.providers import EnvironmentProvider, ProjectProvider
from dokploy_pulumi.testing import provider_server as harness

ENV_NAMES = ("staging", "preview")
PHASES = ("create", "read", "update", "delete")


@dataclass(frozen=True)
class Op:
    key: str
    phase: str
    resource: str
    minimum: dict[str, int]
    why: str


OPS: tuple[Op, ...] = (
    Op(
        "Project.create",
        "create",
        "Project",
        {"project.create": 1},
        "project.create takes env and returns the row and its default environment",
    ),
    Op(
        "Environment.create",
        "create",
        "Environment",
        {"environment.create": 1, "environment.update": 1},
        "environment.create silently ignores env: a follow-up environment.update sets it",
    ),
    Op("Project.read", "read", "Project", {"project.one": 1}, "one read"),
    Op("Environment.read", "read", "Environment", {"environment.one": 1}, "one read"),
    Op("Project.update", "update", "Project", {"project.update": 1}, "description and env in one call"),
    Op("Environment.update", "update", "Environment", {"environment.update": 1}, "description and env in one call"),
    # Environments are destroyed before their projects (they depend on them).
    Op(
        "Environment.delete",
        "delete",
        "Environment",
        {"environment.one": 1, "environment.remove": 1},
        "v0.26 removes an environment with its services (v0.30 refuses): look first",
    ),
    Op(
        "Project.delete",
        "delete",
        "Project",
        {"project.one": 1, "project.remove": 1},
        "without force_destroy: project.remove silently cascades through services, so look first",
    ),
)


class BenchmarkError(Exception):
    """The work did not do what it should (a failed check, a wrong output or server state)."""


# -- the workload ------------------------------------------------------------------------------------


@dataclass(eq=False)
class Res:
    """One resource through its life: what the engine (or a script) keeps between operations."""

    kind: str  # "Project" | "Environment"
    index: int
    env_name: Optional[str] = None
    project: Optional[Res] = None
    id: str = ""
    # provider mode: the structs the engine stores (checked inputs, outputs) and the next program inputs
    news: Optional[struct_pb2.Struct] = None
    inputs: Optional[struct_pb2.Struct] = None
    outputs: Optional[struct_pb2.Struct] = None
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def urn(self) -> str:
        name = f"p{self.index}" if self.kind == "Project" else f"p{self.index}-{self.env_name}"
        return f"urn:pulumi:bench::bench::pulumi-python:dynamic/dokploy:{self.kind}::{name}"


def args_of(res: Res, version: int) -> dict[str, Any]:
    """The resource's arguments: version 0 at create, 1 after the update."""
    i = res.index
    if res.kind == "Project":
        return {
            "name": f"bench-{i}",
            "description": f"benchmark project {i}" + (" v2" if version else ""),
            "env": {"APP": f"p{i}", "LEVEL": str(1 + version), **({"EXTRA": "yes"} if version else {})},
        }
    assert res.project is not None
    return {
        "project_id": res.project.id,
        "name": res.env_name,
        "description": f"{res.env_name} of project {i}" + (" v2" if version else ""),
        "env": {"STAGE": str(res.env_name), "REPLICAS": str(1 + version), **({"DEBUG": "1"} if version else {})},
    }


PROVIDER_CLASSES = {"Project": ProjectProvider, "Environment": EnvironmentProvider}


def resource_props(kind: str, blob: str, args: dict[str, Any]) -> dict[str, Any]:
    """What `dokploy_pulumi.Project/Environment` send: every declared input (None when not given),
    every computed output seeded as None, and the `__provider` blob."""
    lifecycle = PROVIDER_CLASSES[kind].lifecycle
    props = {a.name: args.get(a.name) for a in lifecycle.inputs}
    props.update({name: None for name in lifecycle.computed})
    props[harness.PROVIDER_KEY] = blob
    return props
