"""The env-reference guard (issue 21): an update that removes keys from a project's or an
environment's env is refused while a service there refers to one of them.

Dokploy resolves `${{project.KEY}}` and `${{environment.KEY}}` in a service's variables when it
deploys the service, and refuses to deploy when the key is gone ("Invalid project environment
variable: project.KEY"), so dropping a key breaks services nobody touched, at their next deploy.
The rules are `prepareEnvironmentVariables`'s (packages/server/src/utils/docker/utils.ts, the same
on v0.25.11, v0.26.7 and v0.30.2): each service variable's value (as Node's dotenv parses it) has
`/\\$\\{\\{project\\.(.*?)\\}\\}/g` replaced from the project's env first, then
`/\\$\\{\\{environment\\.(.*?)\\}\\}/g` from the environment's: case-sensitive, no whitespace inside
the braces, the key being everything up to the first `}}` on the line. So an environment key can
also be reached through a project variable whose value refers to it.

Requests, only when keys are removed: `project.one` (a project: every environment's services) or
`environment.one` (an environment: its services and its project's env), plus one `<type>.one` per
service on releases whose reads are slim (v0.29.14 and later); older releases nest whole service
rows, variables included, and need nothing more.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from ._attrs import BOOL, ENV, Attr, is_unknown
from ._dotenv import _DOT, parse_env
from ._exceptions import RefusedError, UndecryptableEnvError
from ._lifecycle import gone_as_none

if TYPE_CHECKING:  # the HTTP stack and pydantic load in the provider process only (see `_wire`)
    from ._client import DokployClient
    from ._models import EnvironmentRow, ServiceRef

#: Service reads in flight at once: measured on a real v0.30.2 (load 6 on 2 cores), 16
#: `application.one` took 19.5 s one by one, 11.2 s four at once, 14.1 s eight at once.
_READS_AT_ONCE = 4

#: The opt-out, on `Project` and `Environment`: a change of it needs no request.
ALLOW_BREAKING_ATTR = Attr("allow_breaking_env_references", BOOL, state_only=True)

#: Dokploy's two patterns (JS `.` is `_DOT`: it stops at any line terminator).
_PATTERNS = {scope: re.compile(rf"\$\{{\{{{scope}\.({_DOT}*?)\}}\}}") for scope in ("project", "environment")}


@dataclass(frozen=True)
class Breakage:
    """One service that refers to removed keys (or whose variables cannot be read)."""

    service: ServiceRef
    environment: str
    keys: tuple[str, ...]  # empty: the service's variables are ciphertext the server could not decrypt

    def describe(self, scope: str) -> str:
        where = f"{self.service.type} {self.service.name!r} ({self.service.id}) in environment {self.environment!r}"
        if not self.keys:
            return f"{where}, whose variables Dokploy could not decrypt (not checked)"
        return f"{where} uses {', '.join('${{' + scope + '.' + key + '}}' for key in self.keys)}"


def removed_keys(olds: Mapping[str, Any], news: Mapping[str, Any]) -> set[str]:
    """Keys the state's env has and the new env does not (none while the new env is unknown)."""
    new = news.get("env")
    if is_unknown(new) and not isinstance(new, Mapping):
        return set()  # decided by the diff of `up`, once the value is known
    return set(ENV.normalize(olds.get("env")) or {}) - set(ENV.normalize(new) or {})


def referenced(values: Iterable[str], scope: str, keys: set[str], project_env: Mapping[str, str]) -> set[str]:
    """Which of `keys` the values refer to in `scope`. For "environment", project references are
    resolved first, as Dokploy does (one missing there is left as it is: that service fails anyway)."""
    found: set[str] = set()
    for value in values:
        if scope == "environment":
            value = _PATTERNS["project"].sub(lambda m: project_env.get(m.group(1), m.group(0)), value)
        found.update(m.group(1) for m in _PATTERNS[scope].finditer(value))
    return found & keys


def _variables(client: DokployClient, ref: ServiceRef, nested: Mapping[str, Any]) -> Optional[list[str]]:
    """The values of every variable of the service (None: ciphertext the server could not decrypt)."""
    # Whole rows (before v0.29.14) carry the columns; slim ones do not: ask the service's router.
    from ._models import ServiceEnv, is_ciphertext  # provider process only (see the imports)

    if "env" in nested:
        row = ServiceEnv.model_validate(nested)
    else:
        # Deleted since the environment's read (its own NOT_FOUND): it refers to nothing any more.
        found = gone_as_none(lambda: client.service.env(ref.type, ref.id))
        if found is None:
            return []
        row = found
    values: list[str] = []
    for text in row.columns().values():
        if is_ciphertext(text):
            return None
        values.extend(parse_env(text).values())
    return values


def breakages(
    client: DokployClient,
    scope: str,
    environments: list[EnvironmentRow],
    keys: set[str],
    project_env: Mapping[str, str],
) -> list[Breakage]:
    rows = [(env.name, ref, nested) for env in environments for ref, nested in env.service_rows()]
    # On slim releases each service is one `<type>.one`, a heavy read (~1 s on a loaded server):
    # a few at once (the client's pool is shared by threads), each in a copy of this context, so
    # that its errors redact the secrets the caller registered (`_redact.more_secrets`).
    with ThreadPoolExecutor(max_workers=_READS_AT_ONCE) as pool:
        reads = [pool.submit(contextvars.copy_context().run, _variables, client, ref, row) for _, ref, row in rows]
        variables = [read.result() for read in reads]
    found: list[Breakage] = []
    for (env_name, ref, _), values in zip(rows, variables, strict=True):
        hit = None if values is None else referenced(values, scope, keys, project_env)
        if hit is None or hit:
            found.append(Breakage(ref, env_name, tuple(sorted(hit or ()))))
    return found


def _readable_env(row: Any) -> dict[str, str]:
    """A project's or environment's variables as the server holds them ({} when it answered
    ciphertext: nothing is taken from it)."""
    try:
        return parse_env(row.env) if row is not None else {}
    except UndecryptableEnvError:
        return {}


def guard_env_references(
    connect: Callable[[], DokployClient], scope: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]
) -> None:
    """Refuse (RefusedError) an env change of project or environment `id_` that removes keys a
    service refers to, unless the new inputs opt out. No request when no key is removed. `olds`
    is the state at an update, and what the server holds when a create adopts an existing object."""
    removed = removed_keys(olds, news)
    opt_out = news.get(ALLOW_BREAKING_ATTR.name)
    # An opt-out unknown at preview (another resource's output) is decided by the diff of `up`.
    if opt_out is True or is_unknown(opt_out) or not removed:
        return
    client = connect()
    if scope == "project":
        project = client.project.one(id_)
        environments, project_env, current = project.environments, {}, _readable_env(project)
    else:
        environment = client.environment.one(id_)
        environments, project_env = [environment], _readable_env(environment.project)
        current = _readable_env(environment)
    # Keys added by hand since the last refresh would be removed by this update too.
    keys = removed | (set(current) - set(ENV.normalize(news.get("env")) or {}))
    found = breakages(client, scope, environments, keys, project_env)
    if not found:
        return
    # The keys a service uses; all removed ones when the only findings could not be read.
    named = sorted({k for b in found for k in b.keys} or keys)
    listed = "; ".join(b.describe(scope) for b in found)
    raise RefusedError(
        f"removing {scope} env key(s) {', '.join(named)} would break {len(found)} service(s) "
        f"that refer to them: {listed}. Dokploy refuses to deploy a service whose reference is gone, so nothing "
        "was changed. Change those services' env first, or set allow_breaking_env_references=True on this "
        "resource to remove the keys anyway."
    )
