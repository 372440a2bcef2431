"""The type tokens of this package's resources: `pulumi-python:dynamic/dokploy:<Class>`.

State and URNs record them, so they never change (a new token would make the engine replace every
resource; see the CHANGELOG's version policy). The resource classes declare `module=MODULE`, and
what reads state (import, recover) recognises our resources by `type_token(...)`. Imports nothing.
"""

from __future__ import annotations

__all__ = ["MODULE", "TYPE_PREFIX", "type_token"]

#: The `module=` of every resource class (`pulumi.dynamic.Resource` puts it in the token).
MODULE = "dokploy"
#: What every token of ours starts with: the dynamic provider's prefix and our module.
TYPE_PREFIX = f"pulumi-python:dynamic/{MODULE}:"


def type_token(class_name: str) -> str:
    """The token of the resource class named `class_name`, e.g. `...dokploy:Project`."""
    return TYPE_PREFIX + class_name
