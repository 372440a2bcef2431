"""dokploy_pulumi: manage Dokploy projects and environments from Pulumi programs in Python.

The public names are imported lazily (PEP 562), so that `import dokploy_pulumi.testing` (the
emulator) and the small modules it shares do not pull in pulumi and grpc.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

#: Public name -> the private module that defines it. The `if TYPE_CHECKING:` block below lists the same
#: names for type checkers; tests/unit/test_exports.py checks that the two agree.
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
    "UndecryptableEnvError": "_exceptions",
    "EnvironmentInfo": "_info",
    "ProjectInfo": "_info",
    "SearchResult": "_info",
    "EnvironmentDetail": "_models",
    "EnvironmentRow": "_models",
    "ProjectCreateResult": "_models",
    "ProjectDetail": "_models",
    "ProjectRow": "_models",
    "SearchPage": "_models",
    "ServiceRef": "_models",
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
    "ProjectGuard": "_resources",
    "ProjectGuardArgs": "_resources",
    "Tag": "_resources",
    "TagArgs": "_resources",
    "TagInfo": "_info",
    "get_tag": "_functions",
    "get_tag_output": "_functions",
    "list_tags": "_functions",
    "list_tags_output": "_functions",
    "SealedEnv": "_sealed",
    "SealedEnvError": "_sealed",
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
        AmbiguousCreateError as AmbiguousCreateError,
    )
    from ._exceptions import (
        APIConnectionError as APIConnectionError,
    )
    from ._exceptions import (
        APIStatusError as APIStatusError,
    )
    from ._exceptions import (
        APITimeoutError as APITimeoutError,
    )
    from ._exceptions import (
        AuthenticationError as AuthenticationError,
    )
    from ._exceptions import (
        BadRequestError as BadRequestError,
    )
    from ._exceptions import (
        ConflictError as ConflictError,
    )
    from ._exceptions import (
        CredentialError as CredentialError,
    )
    from ._exceptions import (
        DokployError as DokployError,
    )
    from ._exceptions import (
        DokployLookupError as DokployLookupError,
    )
    from ._exceptions import (
        EndpointNotFoundError as EndpointNotFoundError,
    )
    from ._exceptions import (
        InputValidationError as InputValidationError,
    )
    from ._exceptions import (
        InternalServerError as InternalServerError,
    )
    from ._exceptions import (
        InvalidResponseError as InvalidResponseError,
    )
    from ._exceptions import (
        NotFoundError as NotFoundError,
    )
    from ._exceptions import (
        PermissionDeniedError as PermissionDeniedError,
    )
    from ._exceptions import (
        ProviderError as ProviderError,
    )
    from ._exceptions import (
        RateLimitError as RateLimitError,
    )
    from ._exceptions import (
        RefusedError as RefusedError,
    )
    from ._exceptions import (
        UnconfirmedDeleteError as UnconfirmedDeleteError,
    )
    from ._exceptions import (
        UndecryptableEnvError as UndecryptableEnvError,
    )
    from ._exceptions import (
        UnknownProcedureError as UnknownProcedureError,
    )
    from ._exceptions import (
        UnsupportedMediaTypeError as UnsupportedMediaTypeError,
    )
    from ._functions import (
        get_default_environment as get_default_environment,
    )
    from ._functions import (
        get_default_environment_output as get_default_environment_output,
    )
    from ._functions import (
        get_environment as get_environment,
    )
    from ._functions import (
        get_environment_output as get_environment_output,
    )
    from ._functions import (
        get_project as get_project,
    )
    from ._functions import (
        get_project_output as get_project_output,
    )
    from ._functions import (
        get_tag as get_tag,
    )
    from ._functions import (
        get_tag_output as get_tag_output,
    )
    from ._functions import (
        list_environments as list_environments,
    )
    from ._functions import (
        list_environments_output as list_environments_output,
    )
    from ._functions import (
        list_projects as list_projects,
    )
    from ._functions import (
        list_projects_output as list_projects_output,
    )
    from ._functions import (
        list_tags as list_tags,
    )
    from ._functions import (
        list_tags_output as list_tags_output,
    )
    from ._functions import (
        search_environments as search_environments,
    )
    from ._functions import (
        search_environments_output as search_environments_output,
    )
    from ._functions import (
        search_projects as search_projects,
    )
    from ._functions import (
        search_projects_output as search_projects_output,
    )
    from ._info import (
        EnvironmentInfo as EnvironmentInfo,
    )
    from ._info import (
        ProjectInfo as ProjectInfo,
    )
    from ._info import (
        SearchResult as SearchResult,
    )
    from ._info import (
        TagInfo as TagInfo,
    )
    from ._models import (
        EnvironmentDetail as EnvironmentDetail,
    )
    from ._models import (
        EnvironmentRow as EnvironmentRow,
    )
    from ._models import (
        ProjectCreateResult as ProjectCreateResult,
    )
    from ._models import (
        ProjectDetail as ProjectDetail,
    )
    from ._models import (
        ProjectRow as ProjectRow,
    )
    from ._models import (
        SearchPage as SearchPage,
    )
    from ._models import (
        ServiceRef as ServiceRef,
    )
    from ._resources import (
        Environment as Environment,
    )
    from ._resources import (
        EnvironmentArgs as EnvironmentArgs,
    )
    from ._resources import (
        EnvironmentDuplicate as EnvironmentDuplicate,
    )
    from ._resources import (
        EnvironmentDuplicateArgs as EnvironmentDuplicateArgs,
    )
    from ._resources import (
        Project as Project,
    )
    from ._resources import (
        ProjectArgs as ProjectArgs,
    )
    from ._resources import (
        ProjectDuplicate as ProjectDuplicate,
    )
    from ._resources import (
        ProjectDuplicateArgs as ProjectDuplicateArgs,
    )
    from ._resources import (
        ProjectGuard as ProjectGuard,
    )
    from ._resources import (
        ProjectGuardArgs as ProjectGuardArgs,
    )
    from ._resources import (
        Tag as Tag,
    )
    from ._resources import (
        TagArgs as TagArgs,
    )
    from ._sealed import (
        SealedEnv as SealedEnv,
    )
    from ._sealed import (
        SealedEnvError as SealedEnvError,
    )
