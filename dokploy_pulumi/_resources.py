"""The public Pulumi resource classes: typed Args, typed outputs, docstrings.

Each class only gathers its arguments into props; the providers do the work. Sensitive inputs
(env) are wrapped as secret inputs and declared secret outputs, so their values are encrypted in
state whatever the program passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Optional, Union

from pulumi import Input, Output, ResourceOptions
from pulumi.dynamic import Resource

from . import _oneline_errors
from ._connection import Connection
from ._lifecycle import DokployProvider
from ._tokens import MODULE
from .providers import (
    EnvironmentDuplicateProvider,
    EnvironmentProvider,
    ProjectDuplicateProvider,
    ProjectGuardProvider,
    ProjectProvider,
    TagProvider,
)

EnvInput = Union[str, Mapping[str, Input[str]]]


def _props(provider: DokployProvider, args: Any) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for attr in provider.lifecycle.inputs:
        value = getattr(args, attr.name, None)
        if isinstance(value, Connection):
            value = value.to_input()
        if attr.sensitive and value is not None:
            value = Output.secret(value)
        props[attr.name] = value
    for name in provider.lifecycle.computed:
        props[name] = None  # declare every output so it is known to exist
    return props


def _opts(provider: DokployProvider, opts: Optional[ResourceOptions]) -> ResourceOptions:
    # A sensitive output is secret even when the program passed a plain value.
    secret = [a.name for a in provider.lifecycle.inputs if a.sensitive]
    return ResourceOptions.merge(opts, ResourceOptions(additional_secret_outputs=secret))


def _args(cls: type, args: Any, kwargs: dict[str, Any]) -> Any:
    if args is not None and kwargs:
        raise TypeError(f"pass either a {cls.__name__} or keyword arguments, not both")
    if args is None:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"{cls.__name__} got unexpected arguments: {', '.join(unknown)}")
        args = cls(**kwargs)
    return args


class _EnvironmentOutputs:
    """The outputs every environment-like resource has (typed for IDEs and type checkers)."""

    project_id: Output[str]
    name: Output[str]
    description: Output[str]
    env: Output[dict[str, str]]
    is_default: Output[bool]
    created_at: Output[Optional[str]]


class _ProjectOutputs:
    """The outputs every project-like resource has."""

    name: Output[str]
    description: Output[str]
    force_destroy: Output[bool]
    created_at: Output[Optional[str]]
    organization_id: Output[str]
    default_environment_id: Output[Optional[str]]


class _DokployResource(Resource):
    """What every resource class shares: `Cls(name, ArgsCls(...), opts)` or `Cls(name, **kwargs, opts=...)`.

    Subclasses declare their Args dataclass and provider class; the provider's Lifecycle declares
    the inputs and outputs, so a resource class is only its typed outputs and docstring.
    """

    _args_type: ClassVar[type]
    _provider_type: ClassVar[type[DokployProvider]]

    def __init__(
        self,
        resource_name: str,
        args: Optional[Any] = None,
        opts: Optional[ResourceOptions] = None,
        **kwargs: Any,
    ) -> None:
        # Runs in the program only: no KeyboardInterrupt traceback when the engine cancels it.
        _oneline_errors.quiet_cancelled_program()
        provider = self._provider_type()
        props = _props(provider, _args(self._args_type, args, kwargs))
        super().__init__(provider, resource_name, props, _opts(provider, opts))


@dataclass
class ProjectArgs:
    """Arguments of a `Project`.

    name: the project's name (not unique in Dokploy). description: optional; removing it clears it.
    env: project-wide variables, a dict or dotenv text (secret). force_destroy: allow destroying a
    project that still holds services (Dokploy would delete them with it). connection: another
    Dokploy instance than the stack's `dokploy:url`. adopt_id: manage this existing project instead
    of creating one (opt-in, by id only). tags: the ids of the project's tags (Dokploy v0.29.0+),
    owned as a whole set: tags added by hand are removed at the next `up`, `[]` removes them all;
    omitted, the project's tags are not managed at all.
    allow_breaking_env_references: let an update remove env
    keys that services of the project refer to as `${{project.KEY}}` (refused by default).
    """

    name: Input[str]
    description: Optional[Input[str]] = None
    env: Optional[Input[EnvInput]] = None
    force_destroy: Optional[Input[bool]] = None
    connection: Optional[Connection] = None
    adopt_id: Optional[Input[str]] = None
    tags: Optional[Input[Sequence[Input[str]]]] = None
    allow_breaking_env_references: Optional[Input[bool]] = None


class Project(_DokployResource, _ProjectOutputs, module=MODULE, name="Project"):
    """A Dokploy project. Its id is the Dokploy `projectId`.

    Dokploy creates a default environment named "production" with every project; its id is
    `default_environment_id`, and declaring `Environment(..., name="production")` manages it.
    """

    env: Output[dict[str, str]]
    #: The tag ids, sorted; None when `tags` is not managed.
    tags: Output[Optional[list[str]]]

    _args_type = ProjectArgs
    _provider_type = ProjectProvider


@dataclass
class TagArgs:
    """Arguments of a `Tag` (Dokploy v0.29.0+).

    name: unique in the organization (Dokploy refuses a second tag of one name). color: optional
    text, e.g. "#22c55e"; removing it clears it. connection, adopt_id: as for Project.
    """

    name: Input[str]
    color: Optional[Input[str]] = None
    connection: Optional[Connection] = None
    adopt_id: Optional[Input[str]] = None


class Tag(_DokployResource, module=MODULE, name="Tag"):
    """A Dokploy tag, for grouping projects (`Project(tags=[tag.id])`). Its id is the `tagId`.

    Destroying it also unlinks it from every project (Dokploy cascades), which a `Project` that
    lists it shows as drift at the next refresh.
    """

    name: Output[str]
    color: Output[str]
    created_at: Output[Optional[str]]
    organization_id: Output[str]

    _args_type = TagArgs
    _provider_type = TagProvider


@dataclass
class EnvironmentArgs:
    """Arguments of an `Environment`.

    project_id: the project it belongs to (changing it replaces the environment). name: "production"
    adopts the project's default environment instead of creating one. description, env (secret):
    as for Project. connection, adopt_id: as for Project. allow_breaking_env_references: let an
    update remove env keys that services of the environment refer to as `${{environment.KEY}}`.
    """

    project_id: Input[str]
    name: Input[str]
    description: Optional[Input[str]] = None
    env: Optional[Input[EnvInput]] = None
    connection: Optional[Connection] = None
    adopt_id: Optional[Input[str]] = None
    allow_breaking_env_references: Optional[Input[bool]] = None


class Environment(_DokployResource, _EnvironmentOutputs, module=MODULE, name="Environment"):
    """An environment inside a Dokploy project. Its id is the Dokploy `environmentId`.

    Named "production", it is the project's default environment: adopted rather than created,
    never renamed, and on destroy restored to its defaults and forgotten (Dokploy cannot delete it).
    """

    _args_type = EnvironmentArgs
    _provider_type = EnvironmentProvider


@dataclass
class EnvironmentDuplicateArgs:
    """Arguments of an `EnvironmentDuplicate`.

    source_environment_id: the environment to copy (changing it replaces the copy). name: the copy's
    name (never "production"). description: as for Environment (the server would otherwise copy the
    source's). env (secret): variables that replace the copied ones; omitted or empty, the copied
    variables are kept and not tracked. connection: as for Project. allow_breaking_env_references:
    as for Environment (for services added to the copy since).
    """

    source_environment_id: Input[str]
    name: Input[str]
    description: Optional[Input[str]] = None
    env: Optional[Input[EnvInput]] = None
    connection: Optional[Connection] = None
    allow_breaking_env_references: Optional[Input[bool]] = None


class EnvironmentDuplicate(_DokployResource, _EnvironmentOutputs, module=MODULE, name="EnvironmentDuplicate"):
    """A copy of an environment, in the same project, made by Dokploy's `environment.duplicate`.

    Dokploy copies the env but not the services. Its id is the new `environmentId`; name,
    description and env are updated in place; destroy deletes the copy (refused while it holds
    services).
    """

    source_environment_id: Output[str]

    _args_type = EnvironmentDuplicateArgs
    _provider_type = EnvironmentDuplicateProvider


@dataclass
class ProjectDuplicateArgs:
    """Arguments of a `ProjectDuplicate`.

    source_environment_id: the environment whose services are copied. name, description: the new
    project's (updated in place). include_services: copy `selected_services` (default True).
    selected_services: `[{"id": ..., "type": "application" | "compose" | "libsql" | "mariadb" |
    "mongo" | "mysql" | "postgres" | "redis"}]`, services of the source environment; none selected,
    nothing is copied. A change of source, include_services or selected_services replaces the
    project. force_destroy, connection: as for Project.
    """

    source_environment_id: Input[str]
    name: Input[str]
    description: Optional[Input[str]] = None
    include_services: Optional[Input[bool]] = True
    selected_services: Optional[Input[Sequence[Mapping[str, Input[str]]]]] = None
    force_destroy: Optional[Input[bool]] = None
    connection: Optional[Connection] = None


class ProjectDuplicate(_DokployResource, _ProjectOutputs, module=MODULE, name="ProjectDuplicate"):
    """A new project holding copies of an environment's services, made by `project.duplicate`.

    Its id (and `project_id`) is the new project's id; `default_environment_id` is its new
    "production" environment, where the copies are. The source project's env is not copied.
    Destroy deletes the project, refused while it holds services unless force_destroy is set.
    """

    source_environment_id: Output[str]
    include_services: Output[bool]
    selected_services: Output[list[dict[str, str]]]
    project_id: Output[str]

    _args_type = ProjectDuplicateArgs
    _provider_type = ProjectDuplicateProvider


@dataclass
class ProjectGuardArgs:
    """Arguments of a `ProjectGuard`.

    project_id: the project to guard. environment_ids: every environment this stack declares in it
    (pass their `.id`s: that also makes the guard depend on them). connection: as for Project.
    """

    project_id: Input[str]
    environment_ids: Optional[Input[Sequence[Input[str]]]] = None
    connection: Optional[Connection] = None


class ProjectGuard(_DokployResource, module=MODULE, name="ProjectGuard"):
    """Stops `pulumi destroy` before anything is deleted while the project holds environments the
    stack does not declare (another stack's, e.g. review environments, or made by hand).

    The engine deletes it first (it depends on the project and on every listed environment), and
    its delete refuses while such an environment exists. It makes no Dokploy object; its id is the
    project's. Removing an environment from the program only updates the list.
    """

    project_id: Output[str]
    environment_ids: Output[list[str]]

    _args_type = ProjectGuardArgs
    _provider_type = ProjectGuardProvider


__all__ = [
    "Environment",
    "EnvironmentArgs",
    "EnvironmentDuplicate",
    "EnvironmentDuplicateArgs",
    "Project",
    "ProjectArgs",
    "ProjectDuplicate",
    "ProjectDuplicateArgs",
    "ProjectGuard",
    "ProjectGuardArgs",
    "Tag",
    "TagArgs",
]
