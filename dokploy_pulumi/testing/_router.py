"""The procedure table: which procedures a release has, and one call from input to answer.

``route`` is what trpc-openapi's procedure cache does (a name and a method, or nothing: the
router's 404). ``call`` validates the input with the release's schema, runs the handler under the
store's lock, turns an unwrapped database error into tRPC's 500, and saves after a mutation (also
after a failed one: some steps are not transactional).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _environments, _projects, _search, _service_procedures, _tags  # noqa: F401  (they register their procedures)
from ._call import HANDLERS, Call, procedure
from ._clock import iso
from ._errors import DatabaseError, TRPCError
from ._releases import Release
from ._schemas import QUERIES, schemas_for
from ._store import Store
from ._validation import validate

__all__ = ["Router"]

Handler = Callable[[Call, dict[str, Any]], Any]


@procedure("settings.getDokployVersion")
def _version(call: Call, data: dict[str, Any]) -> str:
    return call.release.version


@procedure("server.getServerTime")
def _server_time(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    # The clock that stamps createdAt (Dokploy: `new Date()` in the same process), so a client can
    # measure the server's clock where a proxy replaces the Date header.
    return {"time": iso(call.store.clock.now()), "timezone": "UTC"}


_HANDLERS: dict[str, Handler] = HANDLERS


class Router:
    """Dispatches procedure calls for one store; the release can change between calls."""

    def __init__(self, store: Store, release: Release, *, legacy_create: bool = False) -> None:
        self.store = store
        self.legacy_create = legacy_create
        self.release = release

    @property
    def release(self) -> Release:
        return self._release

    @release.setter
    def release(self, release: Release) -> None:
        self._release = release
        self._schemas = schemas_for(release)

    def route(self, method: str, procedure: str) -> bool:
        """Whether ``method`` + ``procedure`` names a procedure of this release."""
        if procedure not in self._schemas:
            return False
        return method == ("GET" if procedure in QUERIES else "POST")

    def call(self, procedure: str, organization_id: str, raw_input: dict[str, Any]) -> Any:
        """Raises ``ValidationFailed`` or ``TRPCError``, as the real procedure would."""
        release = self._release
        data = validate(self._schemas[procedure], raw_input, release.zod)
        call = Call(self.store, release, organization_id, self.legacy_create)
        with self.store.lock:
            try:
                answer = _HANDLERS[procedure](call, data)
                # Before v0.26.1 the column does not exist: no answer carries it. The store keeps
                # the flag so that switching ``version`` keeps the data; the rules go by name.
                return answer if release.is_default_column else _without_is_default(answer)
            except DatabaseError as exc:
                raise TRPCError("INTERNAL_SERVER_ERROR", exc.message(release)) from exc
            finally:
                if procedure not in QUERIES:
                    self.store.save()


def _without_is_default(value: Any) -> Any:
    """``value`` with every ``isDefault`` key left out (rows nest in lists and in each other)."""
    if isinstance(value, dict):
        return {k: _without_is_default(v) for k, v in value.items() if k != "isDefault"}
    if isinstance(value, list):
        return [_without_is_default(v) for v in value]
    return value
