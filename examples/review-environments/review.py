"""One Dokploy review environment per pull request, driven by Pulumi's Automation API.

    python review.py up 42 --url https://pr-42.preview.example.com [--set KEY=VALUE ...]
    python review.py down 42
    python review.py list [--json]

Each PR gets a stack of its own, `pr-<N>`, in the Pulumi project `dokploy-review-environments`.
Its one resource is an `EnvironmentDuplicate` of the staging environment, named `pr-<N>`, whose
variables are staging's (as the platform stack declares them) plus per-PR overrides: PR_NUMBER,
PREVIEW_URL (from --url) and any --set KEY=VALUE. The staging environment comes from the platform
stack (./platform, a normal Pulumi program) through a StackReference.

Every command is safe to re-run: `up` of an existing PR updates its environment in place (a
changed override is one `environment.update`, never a replace); `down` of a PR without an
environment says so and exits 0; `list` only reads.

Nothing is decided from the state alone: `up` of an existing PR refreshes its stack first (one
`environment.one`), so an environment deleted outside Pulumi is created again rather than
reported "unchanged"; `list` asks Dokploy about every id it shows, and shows a deleted one as
deleted, never as an id.

Where things are (flags win over the environment):
  DOKPLOY_URL, DOKPLOY_API_KEY   the Dokploy server; the key stays in this process's environment
                                 and never enters Pulumi state.
  PULUMI_CONFIG_PASSPHRASE       (or PULUMI_CONFIG_PASSPHRASE_FILE) for the passphrase secrets
                                 provider; the staging variables in state are encrypted with it.
  --backend / PULUMI_BACKEND_URL default file://<this folder>/.pulumi-state (created if missing).
  --platform-stack / REVIEW_PLATFORM_STACK
                                 default organization/dokploy-platform/dev.
The `pulumi` CLI must be on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

import pulumi
from pulumi import automation as auto

import dokploy_pulumi as dokploy

PROJECT_NAME = "dokploy-review-environments"
DEFAULT_BACKEND = f"file://{Path(__file__).resolve().parent / '.pulumi-state'}"
DEFAULT_PLATFORM_STACK = "organization/dokploy-platform/dev"
STACK_PREFIX = "pr-"
REVIEW_TYPE = "pulumi-python:dynamic/dokploy:EnvironmentDuplicate"
# Overrides review.py sets itself; --set may not redefine them.
RESERVED_KEYS = frozenset({"PR_NUMBER", "PREVIEW_URL"})
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UsageError(Exception):
    """A problem with the command line or the environment, reported without a traceback."""


# -- the Pulumi program of one PR's stack -----------------------------------------------------


def review_program(pr: int, overrides: Mapping[str, str], platform_stack: str) -> Callable[[], None]:
    """The inline program of stack `pr-<pr>`: one copy of staging with the PR's overrides."""

    def program() -> None:
        platform = pulumi.StackReference(platform_stack)
        # A secret Output: the merged variables stay encrypted in this stack's state too.
        env = platform.get_output("staging_env").apply(lambda base: {**(base or {}), **overrides})
        review = dokploy.EnvironmentDuplicate(
            "review",
            source_environment_id=platform.require_output("staging_environment_id"),
            name=f"{STACK_PREFIX}{pr}",
            description=f"Review environment of pull request #{pr} (review.py)",
            env=env,
        )
        pulumi.export("pr", pr)
        pulumi.export("environment_id", review.id)
        pulumi.export("environment_name", review.name)
        pulumi.export("project_id", review.project_id)
        pulumi.export("preview_url", overrides.get("PREVIEW_URL"))

    return program


# -- workspace and stacks ---------------------------------------------------------------------


def stack_name(pr: int) -> str:
    return f"{STACK_PREFIX}{pr}"


def workspace(args: argparse.Namespace, program: Optional[Callable[[], None]] = None) -> auto.LocalWorkspace:
    """One workspace per command: the backend, the secrets provider, the inline project."""
    backend = args.backend or os.environ.get("PULUMI_BACKEND_URL") or DEFAULT_BACKEND
    if backend.startswith("file://"):
        # The file backend wants its folder to exist.
        Path(backend[len("file://") :]).expanduser().mkdir(parents=True, exist_ok=True)
    return auto.LocalWorkspace(
        # Our own temporary folder (the SDK's default one is never deleted). Nothing in it needs
        # to survive: every `up` sets the whole program, and the stacks live in the backend.
        work_dir=args.work_dir,
        program=program,
        env_vars={
            "PULUMI_BACKEND_URL": backend,
            # The engine starts the dynamic provider with this interpreter (else `python3` on
            # PATH): the one running this inline program has dokploy_pulumi, so use it.
            "PULUMI_PYTHON_CMD": os.environ.get("PULUMI_PYTHON_CMD") or sys.executable,
            **backend_workarounds(backend),
        },
        secrets_provider=args.secrets_provider,
        project_settings=auto.ProjectSettings(
            name=PROJECT_NAME,
            runtime="python",
            description="One Dokploy review environment per pull request",
        ),
    )


def backend_workarounds(backend: str) -> dict[str, str]:
    """CLI settings a backend needs to work at all.

    Pulumi's PostgreSQL backend (postgres://, Pulumi 3.260) deadlocks `pulumi stack ls` once the
    stacks it reads at once reach its connection pool (2 x GOMAXPROCS: 4 on 2 cores): each read
    holds a connection while it waits for a second one. Reading one stack at a time
    (PULUMI_DIY_BACKEND_PARALLEL=1) needs at most two, which every pool has. Forced, not a default:
    a value meant for an S3 backend would bring the hang back. Upstream's bug; see the README.
    The scheme is compared as Pulumi reads it, case-insensitively (`POSTGRES://` is that backend too).
    """
    if urlsplit(backend).scheme == "postgres":  # urlsplit lowers the scheme, as Go's url.Parse
        return {"PULUMI_DIY_BACKEND_PARALLEL": "1"}
    return {}


def platform_stack(args: argparse.Namespace) -> str:
    return args.platform_stack or os.environ.get("REVIEW_PLATFORM_STACK") or DEFAULT_PLATFORM_STACK


def select(pr: int, ws: auto.LocalWorkspace) -> Optional[auto.Stack]:
    """The PR's stack, or None when it does not exist."""
    try:
        return auto.Stack.select(stack_name(pr), ws)
    except auto.StackNotFoundError:
        return None


def review_stacks(ws: auto.LocalWorkspace) -> list[tuple[int, str]]:
    """(PR number, stack name) of every review stack in the backend, by PR number."""
    found = []
    for summary in ws.list_stacks():
        short = summary.name.rsplit("/", 1)[-1]
        if short.startswith(STACK_PREFIX) and short[len(STACK_PREFIX) :].isdigit():
            found.append((int(short[len(STACK_PREFIX) :]), summary.name))
    return sorted(found)


def stack_outputs(ws: auto.LocalWorkspace, name: str) -> dict[str, Any]:
    """A stack's outputs in one CLI call.

    (`ws.stack_outputs` makes two, with and without --show-secrets, to tell secrets apart; none
    of our outputs is secret.)
    """
    args = ["stack", "output", "--json", "--stack", name]
    result = ws.pulumi_command.run(args, ws.work_dir, dict(ws.env_vars))
    return json.loads(result.stdout or "{}")


def echo(line: str) -> None:
    print(line, flush=True)


def engine_output(quiet: bool) -> Optional[Callable[[str], None]]:
    """The CLI's progress goes to stderr, so stdout keeps only our own lines (and list --json)."""
    if quiet:
        return None
    return lambda line: print(line, file=sys.stderr, flush=True)


# -- commands ---------------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args)
    ws = workspace(args, review_program(args.pr, overrides, platform_stack(args)))
    existing = select(args.pr, ws)
    before = stack_outputs(ws, existing.name).get("environment_id") if existing else None
    stack = existing or auto.Stack.create(stack_name(args.pr), ws)
    # What the engine did to the environment, from its own step events: a push must read "update".
    ops: set[str] = set()

    def on_event(event: auto.EngineEvent) -> None:
        done = event.res_outputs_event
        if done is not None and done.metadata.type == REVIEW_TYPE:
            ops.add(str(getattr(done.metadata.op, "value", done.metadata.op)))

    result = stack.up(
        color="never",
        on_output=engine_output(args.quiet),
        on_event=on_event,
        message=f"PR #{args.pr}",
        # Read the environment before deciding: one deleted by hand leaves the state on this
        # refresh and is created again, instead of "unchanged" (or "not found" on every update).
        refresh=existing is not None,
    )
    ops -= {"refresh", "read"}  # the refresh's own steps
    if ops & {"replace", "create-replacement", "delete-replaced"}:
        verb = "replaced"
    else:
        verb = {"create": "created", "update": "updated", "same": "unchanged"}.get(
            "".join(sorted(ops)), "/".join(sorted(ops)) or "done"
        )
    env_id = result.outputs["environment_id"].value
    if verb == "created" and before and before != env_id:
        verb = f"created again (its environment {before} was deleted outside Pulumi)"
    echo(f"PR #{args.pr}: review environment {stack_name(args.pr)} {verb} (environment id {env_id})")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    # Destroy works from the state alone: the program (and so the platform stack) is not run.
    ws = workspace(args, review_program(args.pr, {}, platform_stack(args)))
    stack = select(args.pr, ws)
    if stack is None:
        echo(f"PR #{args.pr}: no review environment (stack {stack_name(args.pr)} does not exist); nothing to do")
        return 0
    require_dokploy()
    env_id = stack_outputs(ws, stack.name).get("environment_id")
    stack.destroy(color="never", on_output=engine_output(args.quiet), message=f"PR #{args.pr} closed", remove=True)
    what = f"environment id {env_id}" if env_id else "no environment was left"
    echo(f"PR #{args.pr}: review environment {stack_name(args.pr)} destroyed ({what}); stack removed")
    return 0


def live(ids: list[Optional[str]]) -> list[bool]:
    """Whether Dokploy still has each environment (one `environment.one` each): the state alone
    cannot tell an environment deleted outside Pulumi from a live one."""
    if not any(ids):
        return [False] * len(ids)
    require_dokploy()
    with dokploy.DokployClient(os.environ["DOKPLOY_URL"], os.environ.get("DOKPLOY_API_KEY", "")) as api:

        def exists(env_id: Optional[str]) -> bool:
            if not env_id:
                return False
            try:
                api.environment.one(env_id)
            except dokploy.NotFoundError:
                return False
            return True

        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(exists, ids))


def cmd_list(args: argparse.Namespace) -> int:
    ws = workspace(args)
    stacks = review_stacks(ws)
    # One CLI call per stack; a few at once, for the day there are hundreds of PRs.
    with ThreadPoolExecutor(max_workers=4) as pool:
        all_outputs = list(pool.map(lambda item: stack_outputs(ws, item[1]), stacks))
    alive = live([outputs.get("environment_id") for outputs in all_outputs])
    rows = [
        {
            "pr": pr,
            "stack": name.rsplit("/", 1)[-1],
            # Never an id Dokploy no longer has: `up` of the PR creates the environment again.
            "environment_id": outputs.get("environment_id") if exists else None,
            "deleted_outside_pulumi": bool(outputs.get("environment_id")) and not exists,
            "environment_name": outputs.get("environment_name"),
            "preview_url": outputs.get("preview_url"),
        }
        for (pr, name), outputs, exists in zip(stacks, all_outputs, alive, strict=False)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        echo("no review environments")
    else:
        header = ("PR", "ENVIRONMENT", "ENVIRONMENT ID", "PREVIEW URL")
        table = [header] + [
            (
                str(r["pr"]),
                r["environment_name"] or "-",
                r["environment_id"] or ("(deleted; `up` recreates it)" if r["deleted_outside_pulumi"] else "(none)"),
                r["preview_url"] or "-",
            )
            for r in rows
        ]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    return 0


# -- command line -----------------------------------------------------------------------------


def parse_overrides(args: argparse.Namespace) -> dict[str, str]:
    overrides = {"PR_NUMBER": str(args.pr)}
    if args.url:
        overrides["PREVIEW_URL"] = args.url
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not _ENV_KEY.match(key):
            raise UsageError(f"--set wants KEY=VALUE with a variable name as KEY, got {item!r}")
        if key in RESERVED_KEYS:
            raise UsageError(f"--set cannot set {key}: review.py sets it (use --url for PREVIEW_URL)")
        overrides[key] = value
    return overrides


def pr_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a pull request number is a positive integer, not {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--backend",
        help="Pulumi backend URL (default: $PULUMI_BACKEND_URL, else a file backend in this folder)",
    )
    common.add_argument(
        "--platform-stack",
        help=f"the platform stack, fully qualified (default: $REVIEW_PLATFORM_STACK, else {DEFAULT_PLATFORM_STACK})",
    )
    common.add_argument(
        "--secrets-provider",
        default="passphrase",
        help="secrets provider of new review stacks (default: passphrase, with PULUMI_CONFIG_PASSPHRASE)",
    )
    common.add_argument("--quiet", action="store_true", help="do not stream the Pulumi CLI's progress to stderr")

    top = argparse.ArgumentParser(prog="review.py", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", parents=[common], help="create or update the review environment of a PR")
    up.add_argument("pr", type=pr_number)
    up.add_argument("--url", help="the PR's preview URL, set as PREVIEW_URL")
    up.add_argument("--set", action="append", metavar="KEY=VALUE", help="another override (repeatable)")
    up.set_defaults(run=cmd_up)
    down = sub.add_parser("down", parents=[common], help="destroy the review environment of a PR")
    down.add_argument("pr", type=pr_number)
    down.set_defaults(run=cmd_down)
    ls = sub.add_parser("list", parents=[common], help="list the PRs that have a review environment")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(run=cmd_list)
    return top


def check_environment(args: argparse.Namespace) -> None:
    passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE") is not None or bool(
        os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    )
    if args.secrets_provider == "passphrase" and not passphrase:
        raise UsageError(
            "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) for the passphrase secrets provider"
        )
    if args.command == "up":
        require_dokploy()


def require_dokploy() -> None:
    # `down` of a PR without a stack talks to nobody, so it checks only once it has work to do.
    if not os.environ.get("DOKPLOY_URL"):
        raise UsageError("set DOKPLOY_URL and DOKPLOY_API_KEY: where Dokploy is, and its API key")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        check_environment(args)
        with tempfile.TemporaryDirectory(prefix="review-workspace-") as work_dir:
            args.work_dir = work_dir
            return args.run(args)
    except UsageError as exc:
        print(f"review.py: {exc}", file=sys.stderr)
        return 2
    except auto.CommandError as exc:
        # Without --quiet the CLI's output, diagnostics included, has just been streamed.
        where = f"\n{exc}" if args.quiet else " (the Pulumi output above says why)"
        print(f"review.py: {args.command} failed{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
