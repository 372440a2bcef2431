"""dokploy_pulumi: manage Dokploy projects and environments from Pulumi programs in Python."""

from ._client import DokployClient
from ._connection import Connection
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DokployError,
    InputValidationError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RefusedError,
    UnsupportedMediaTypeError,
)
from ._resources import Environment, EnvironmentArgs, Project, ProjectArgs
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "Connection",
    "DokployClient",
    "DokployError",
    "Environment",
    "EnvironmentArgs",
    "InputValidationError",
    "InternalServerError",
    "InvalidResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "Project",
    "ProjectArgs",
    "RateLimitError",
    "RefusedError",
    "UnsupportedMediaTypeError",
    "__version__",
]
