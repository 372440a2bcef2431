"""A Pulumi program imports the resource classes and look-ups without the provider's HTTP stack.

Every `preview`, `up` and `refresh` starts the program in a fresh interpreter, which imports what it
declares; only the provider process sends requests. So the names a program uses (`_PROGRAM_MODULES`:
resources and their Args, look-ups, their results, `Connection`, the errors, `SealedEnv`) must load
neither httpx, tenacity, pydantic nor cryptography. Those load in the provider process, in a
look-up when it runs, or when a program asks for `DokployClient` or the client's models itself.

Each check runs in a fresh interpreter (this test process has long since imported everything),
and asserts on `sys.modules`, never on a time.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.unit.test_exports import declared_exports

HEAVY = ("httpx", "tenacity", "pydantic", "cryptography")
#: The modules whose public names a program imports; `_client` (DokployClient) and `_models` are the
#: client's own and need the HTTP stack by nature.
_PROGRAM_MODULES = {"_resources", "_functions", "_connection", "_exceptions", "_info", "_sealed"}


def _loaded_after(statements: str) -> dict[str, list[str]]:
    """Which heavy packages are loaded after `statements`, in a fresh interpreter, and which
    modules of dokploy_pulumi."""
    probe = (
        f"import json, sys\n{statements}\n"
        f"print(json.dumps({{'heavy': sorted(m for m in {HEAVY!r} if m in sys.modules), "
        "'ours': sorted(m for m in sys.modules if m.startswith('dokploy_pulumi'))}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded: dict[str, list[str]] = json.loads(out.splitlines()[-1])
    return loaded


def _program_names() -> list[str]:
    names = sorted(n for n, module in declared_exports().items() if module in _PROGRAM_MODULES)
    # The resource classes and look-ups are among them (the list cannot silently become empty).
    assert {"Project", "Environment", "EnvironmentDuplicate", "ProjectDuplicate", "ProjectGuard"} <= set(names)
    assert {"get_project", "get_project_output", "list_environments", "search_projects_output"} <= set(names)
    return names


def test_program_names_load_no_http_stack() -> None:
    loaded = _loaded_after(f"from dokploy_pulumi import {', '.join(_program_names())}")
    assert loaded["heavy"] == []
    # The resource classes did load their providers (the provider instance goes into the blob).
    assert "dokploy_pulumi.providers" in loaded["ours"]


def test_declaring_resources_loads_no_http_stack() -> None:
    # What a resource's constructor does before it registers: build the provider instance the SDK
    # pickles, and the props and options from its lifecycle's declaration.
    statements = (
        "from dokploy_pulumi import Connection, EnvironmentArgs, ProjectArgs\n"
        "from dokploy_pulumi import providers\n"
        "from dokploy_pulumi._resources import _opts, _props\n"
        "conn = Connection(url='https://dokploy.example', api_key_env='KEY')\n"
        "for cls, args in ((providers.ProjectProvider, ProjectArgs(name='p', env={'A': '1'}, connection=conn)),\n"
        "                  (providers.EnvironmentProvider, EnvironmentArgs(project_id='x', name='e'))):\n"
        "    provider = cls()\n"
        "    assert _props(provider, args)['name'] in ('p', 'e')\n"
        "    _opts(provider, None)\n"
    )
    assert _loaded_after(statements)["heavy"] == []


def test_the_probe_sees_the_http_stack_load() -> None:
    # The check above can fail: the client itself does load httpx, tenacity and pydantic.
    loaded = _loaded_after("from dokploy_pulumi import Project, DokployClient")
    assert {"httpx", "tenacity", "pydantic"} <= set(loaded["heavy"])
