"""dokploy_pulumi: manage Dokploy projects and environments from Pulumi programs in Python.

The public names are imported lazily (PEP 562), so that `import dokploy_pulumi.testing` (the
emulator) and the small modules it shares do not pull in pulumi and grpc.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

#: Public name -> the private module that defines it.
_EXPORTS: dict[str, str] = {
    "DokployClient": "_client",
    "Connection": "_connection",
    "APIConnectionError": "_exceptions",
    "APIStatusError": "_exceptions",
    "APITimeoutError": "_exceptions",
    "AuthenticationError": "_exceptions",
    "BadRequestError": "_exceptions",
    "ConflictError": "_exceptions",
    "DokployError": "_exceptions",
    "InputValidationError": "_exceptions",
    "InternalServerError": "_exceptions",
    "InvalidResponseError": "_exceptions",
    "NotFoundError": "_exceptions",
    "PermissionDeniedError": "_exceptions",
    "RateLimitError": "_exceptions",
    "RefusedError": "_exceptions",
    "UnsupportedMediaTypeError": "_exceptions",
    "EndpointNotFoundError": "_exceptions",
    "UnknownProcedureError": "_exceptions",
    "AmbiguousCreateError": "_exceptions",
    "UnconfirmedDeleteError": "_exceptions",
    "DokployLookupError": "_exceptions",
    "CredentialError": "_exceptions",
    "ProviderError": "_exceptions",
    "EnvironmentInfo": "_info",
    "ProjectInfo": "_info",
    "SearchResult": "_info",
    "get_default_environment": "_functions",
    "get_default_environment_output": "_functions",
    "get_environment": "_functions",
    "get_environment_output": "_functions",
    "get_project": "_functions",
    "get_project_output": "_functions",
    "list_environments": "_functions",
    "list_environments_output": "_functions",
    "list_projects": "_functions",
    "list_projects_output": "_functions",
    "search_environments": "_functions",
    "search_environments_output": "_functions",
    "search_projects": "_functions",
    "search_projects_output": "_functions",
    "Environment": "_resources",
    "EnvironmentArgs": "_resources",
    "EnvironmentDuplicate": "_resources",
    "EnvironmentDuplicateArgs": "_resources",
    "Project": "_resources",
    "ProjectArgs": "_resources",
    "ProjectDuplicate": "_resources",
    "ProjectDuplicateArgs": "_resources",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # what type checkers and IDEs see
    from ._client import (
        DokployClient as DokployClient,
    )
    from ._connection import (
        Connection as Connection,
    )
    from ._exceptions import (
        APIConnectionError as APIConnectionError,
        APIStatusError as APIStatusError,
        APITimeoutError as APITimeoutError,
        AuthenticationError as AuthenticationError,
        BadRequestError as BadRequestError,
        ConflictError as ConflictError,
        DokployError as DokployError,
        InputValidationError as InputValidationError,
        InternalServerError as InternalServerError,
        InvalidResponseError as InvalidResponseError,
        NotFoundError as NotFoundError,
        PermissionDeniedError as PermissionDeniedError,
        RateLimitError as RateLimitError,
        RefusedError as RefusedError,
        UnsupportedMediaTypeError as UnsupportedMediaTypeError,
        EndpointNotFoundError as EndpointNotFoundError,
        UnknownProcedureError as UnknownProcedureError,
        AmbiguousCreateError as AmbiguousCreateError,
        UnconfirmedDeleteError as UnconfirmedDeleteError,
    )
    from ._exceptions import (
        CredentialError as CredentialError,
        DokployLookupError as DokployLookupError,
        ProviderError as ProviderError,
    )
    from ._info import (
        EnvironmentInfo as EnvironmentInfo,
        ProjectInfo as ProjectInfo,
        SearchResult as SearchResult,
    )
    from ._functions import (
        get_default_environment as get_default_environment,
        get_default_environment_output as get_default_environment_output,
        get_environment as get_environment,
        get_environment_output as get_environment_output,
        get_project as get_project,
        get_project_output as get_project_output,
        list_environments as list_environments,
        list_environments_output as list_environments_output,
        list_projects as list_projects,
        list_projects_output as list_projects_output,
        search_environments as search_environments,
        search_environments_output as search_environments_output,
        search_projects as search_projects,
        search_projects_output as search_projects_output,
    )
    from ._resources import (
        Environment as Environment,
        EnvironmentArgs as EnvironmentArgs,
        EnvironmentDuplicate as EnvironmentDuplicate,
        EnvironmentDuplicateArgs as EnvironmentDuplicateArgs,
        Project as Project,
        ProjectArgs as ProjectArgs,
        ProjectDuplicate as ProjectDuplicate,
        ProjectDuplicateArgs as ProjectDuplicateArgs,
    )
