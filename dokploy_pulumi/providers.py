"""The dynamic provider classes, one per resource type.

Pulumi state refers to these by module path and class name (the `__provider` blob is a pickled
reference), and delete/refresh load them from state. NEVER rename or move them: stacks created with
an older version could no longer be refreshed or destroyed. Their behaviour lives elsewhere.
"""

from __future__ import annotations

from ._duplicates import EnvironmentDuplicateLifecycle, ProjectDuplicateLifecycle
from ._environment import EnvironmentLifecycle
from ._guard import ProjectGuardLifecycle
from ._lifecycle import DokployProvider
from ._project import ProjectLifecycle
from ._tag import TagLifecycle


class ProjectProvider(DokployProvider):
    lifecycle = ProjectLifecycle()


class EnvironmentProvider(DokployProvider):
    lifecycle = EnvironmentLifecycle()


class EnvironmentDuplicateProvider(DokployProvider):
    lifecycle = EnvironmentDuplicateLifecycle()


class ProjectDuplicateProvider(DokployProvider):
    lifecycle = ProjectDuplicateLifecycle()


class ProjectGuardProvider(DokployProvider):
    lifecycle = ProjectGuardLifecycle()


class TagProvider(DokployProvider):
    lifecycle = TagLifecycle()
