"""`python -m dokploy_pulumi`: bring an existing Dokploy under Pulumi, and recover interrupted runs.

A thin argparse dispatcher; the work lives in `_import.py` and `_recover.py`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

IMPORT_HELP = """\
Read Dokploy and write the Pulumi program (or a module to import from one) that adopts the
selected projects and all their environments by id (adopt_id), with their exact current names and
descriptions: the first `pulumi up` only reads, and changes nothing on the server.

Connection: resolved as the providers do (README, "Configuration"): the current stack's
dokploy:url, dokploy:apiKey, dokploy:timeout, dokploy:caBundle, dokploy:insecureSkipVerify (read
with `pulumi config` when run in a Pulumi project folder; a config that cannot be read is an
error), else $DOKPLOY_URL, $DOKPLOY_API_KEY, $DOKPLOY_TIMEOUT, ... It only reads (project.all, one project.one per selected project, the server version), and warns
about anything the providers' check would refuse at `pulumi preview`.

Env values are secrets and never go into the generated code or to stdout. The code reads each
non-empty env from stack config (config.require_secret("<name>_env")). By default the commands
that store them (`pulumi config set --secret --raw KEY`, value on stdin) are written to a shell
script created with mode 0600 (--secrets-file); run it in the project folder, then delete it.
With --apply-config they are run right away instead, for the current stack (or --stack).
"""

IMPORT_EPILOG = """\
examples:
  python -m dokploy_pulumi import --all --output __main__.py --apply-config
  python -m dokploy_pulumi import --name shop --name "Café ☕" --module dokploy_existing.py
  python -m dokploy_pulumi import --project-id 9lLKRUfeL1fTR8Dv71_XV   # the code to stdout
  python -m dokploy_pulumi import --project-id=-bZ4kT0e1Lq9vQ2wXcY7a   # an id that begins with "-"

Logical names (also the variable names) are ASCII slugs of the Dokploy names, unique over every
project the key can see: duplicates get _2, _3, ... in creation order (environments: in id order).
"""

RECOVER_HELP = """\
After a `pulumi up` was killed (CI runner gone, laptop closed, Ctrl-C twice), the stack's state
holds pending CREATE operations, and Dokploy may hold the objects those creates made. A plain
`pulumi up` would create them a second time. For each pending create of a dokploy_pulumi
resource, this finds the object it made (exact name; for environments, in the right project;
created after the interrupted update started; not already in the stack's state) and:

  exactly one found  -> records it in the state under that resource (its id), then refreshes it
  none found         -> clears the pending create (nothing was made; `pulumi up` creates it)
  several found      -> leaves that one alone and lists the candidates with their ids
                        (pick one with --choose URN ID and run again)

Run it in the Pulumi project folder. Without --apply it only prints what it would do and the
commands. With --apply it also removes the stale lock the killed CLI left (file backends only,
and only when that process is gone), edits the state (`pulumi stack export` / `stack import`;
the state before is saved to dokploy-recover-backup-<time>.json, mode 0600, in the current
folder) and runs `pulumi refresh --target` on the recovered resources. Then run `pulumi up`.
The connection is resolved as the providers do (README, "Configuration"): the stack's
dokploy:* config, else $DOKPLOY_*, and a resource's own Connection where it has one; a stack
config that cannot be read is an error.
Exit status: 0 done (or nothing to do), 2 some pending creates are ambiguous, 1 error.
"""


def _import_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        help="generate the Pulumi program that adopts existing Dokploy projects",
        description=IMPORT_HELP,
        epilog=IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sel = p.add_argument_group("which projects (at least one option)")
    sel.add_argument("--all", action="store_true", help="every project the API key can see")
    sel.add_argument("--project-id", action="append", default=[], metavar="ID", help="a project by id (repeatable)")
    sel.add_argument(
        "--name", action="append", default=[], metavar="NAME", help="projects named exactly NAME (repeatable)"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--output", metavar="FILE", help="write a whole Pulumi program (e.g. __main__.py)")
    out.add_argument(
        "--module", metavar="FILE", help="write a module to import from your program (e.g. dokploy_existing.py)"
    )
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    sec = p.add_mutually_exclusive_group()
    sec.add_argument(
        "--secrets-file",
        metavar="FILE",
        help="where to write the `pulumi config set --secret` commands, mode 0600 "
        "(default: dokploy-import-secrets.sh beside the output, or in the current folder)",
    )
    sec.add_argument(
        "--apply-config", action="store_true", help="run the `pulumi config set --secret` commands now instead"
    )
    p.add_argument("--stack", help="the stack for `pulumi config` (default: the selected stack)")
    p.set_defaults(run=_run_import)


def _recover_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "recover",
        help="resolve the pending creates an interrupted `pulumi up` left, without duplicates",
        description=RECOVER_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--stack", help="the stack (default: the selected stack)")
    p.add_argument("--apply", action="store_true", help="carry the recovery out (default: only print it)")
    p.add_argument(
        "--clock-skew",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how far Dokploy's clock may lag this machine's (default 120)",
    )
    p.add_argument(
        "--choose",
        nargs=2,
        action="append",
        default=[],
        metavar=("URN", "ID"),
        help="for an ambiguous pending create, the object it made (repeatable)",
    )
    p.set_defaults(run=_run_recover)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dokploy_pulumi",
        description="Tools for dokploy_pulumi stacks: generate a program adopting an existing Dokploy "
        "(import), recover from an interrupted `pulumi up` (recover).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{import,recover}")
    _import_parser(sub)
    _recover_parser(sub)
    return parser


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _run_import(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from . import _import as imp
    from ._connection import connect, resolve
    from ._pulumi_cli import PulumiCLI, apply_secrets, connection_source, secrets_script, write_private

    selection = imp.Selection(all=args.all, project_ids=tuple(args.project_id), names=tuple(args.name))
    target = Path(args.output or args.module) if (args.output or args.module) else None
    if target is not None and target.exists() and not args.force:
        raise imp.ImportFailed(f"{target} exists; pass --force to overwrite it")
    settings = resolve(connection_source(PulumiCLI(stack=args.stack)), None)
    with connect(settings) as client:
        inventory = imp.read_server(client, selection)
    names = imp.assign_names(inventory.listed)
    generated = imp.render(
        inventory,
        names,
        command="python -m dokploy_pulumi " + shlex.join(argv),
        url=settings.url,
        now=dt.datetime.now(dt.timezone.utc),
        module=bool(args.module),
    )
    problems = imp.preflight(generated)
    for problem in problems:
        _say(f"warning: `pulumi preview` will refuse {problem}")
    if problems:
        _say(
            "warning: Dokploy accepts these env keys, the providers do not: rename them in Dokploy, then "
            "run the import again. (Leaving `env=` out would not help: adoption would then clear the env.)"
        )
    if target is None:
        sys.stdout.write(generated.code)
    else:
        target.write_text(generated.code, encoding="utf-8")
        _say(
            f"Wrote {target}: {generated.projects} project(s), {generated.environments} environment(s), adopted by id."
        )
    if not generated.secrets:
        _say("No env to store: every selected env is empty.")
    elif args.apply_config:
        apply_secrets(generated.secrets, args.stack)
        keys = ", ".join(k for k, _ in generated.secrets)
        _say(f"Stored {len(generated.secrets)} env(s) as secret stack config: {keys}.")
    else:
        base = target.parent if target is not None else Path.cwd()
        script = Path(args.secrets_file) if args.secrets_file else base / imp.SECRETS_SCRIPT
        write_private(script, secrets_script(generated.secrets, args.stack))
        _say(
            f"Wrote {script} (mode 0600): it holds the SECRET env values of {len(generated.secrets)} object(s) as "
            f"`pulumi config set --secret` commands. Run `sh {shlex.quote(str(script))}` in the Pulumi project "
            "folder, then delete it."
        )
    if target is not None:
        _say("Next: `pulumi preview` (expect only reads), then `pulumi up`.")
    return 0


def _run_recover(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from . import _recover as rec

    return rec.main(
        stack=args.stack,
        apply=args.apply,
        clock_skew=args.clock_skew,
        choices=dict(args.choose),
        out=sys.stdout,
    )


def _protect_values(parser: argparse.ArgumentParser, argv: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """argv with every option value that begins with "-" (a Dokploy id such as "-bZ4k...", about
    one in 64) swapped for a placeholder, and the placeholders. argparse would read such a value
    as an option ("expected one argument"); a token that is an option (or its abbreviation) stays.
    """
    options: dict[str, int] = {}
    for action in _all_actions(parser):
        for opt in action.option_strings:
            # Only text values: a number such as --clock-skew -5 is argparse's to read.
            takes_text = action.type is None and action.nargs != 0
            options[opt] = (action.nargs if isinstance(action.nargs, int) else 1) if takes_text else 0
    out: list[str] = []
    placeholders: dict[str, str] = {}
    pending = 0
    for token in argv:
        if pending and token.startswith("-") and token != "--" and not any(o.startswith(token) for o in options):
            name = f"\x00value{len(placeholders)}"
            placeholders[name] = token
            out.append(name)
            pending -= 1
            continue
        pending = options.get(token, 0) if token.startswith("-") else max(pending - 1, 0)
        out.append(token)
    return out, placeholders


def _all_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    actions = list(parser._actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                actions += _all_actions(sub)
    return actions


def _restore(value: object, placeholders: dict[str, str]) -> object:
    if isinstance(value, str):
        return placeholders.get(value, value)
    if isinstance(value, list):
        return [_restore(v, placeholders) for v in value]
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    protected, placeholders = _protect_values(parser, argv)
    args = parser.parse_args(protected)
    for name, value in vars(args).items():
        setattr(args, name, _restore(value, placeholders))
    from . import DokployError
    from ._pulumi_cli import CommandFailed, environment_secrets

    # Every failure is one `error:` line on stderr and exit status 1, never a traceback, and never
    # with a secret: the API key, the passphrase, a secret config value (see `_redact.py`).
    try:
        return int(args.run(args, argv))
    except DokployError as exc:  # a server's message may span lines (a failed query): one line
        _say(f"error: {' '.join(environment_secrets().redact(str(exc)).split())}")
    except CommandFailed as exc:  # may quote the pulumi CLI's output, line by line
        _say(f"error: {environment_secrets().redact(str(exc))}")
    except Exception as exc:  # a bug: still no traceback (it could hold values), but say what it was
        reason = " ".join(environment_secrets().redact(str(exc)).split())[:500]
        _say(
            f"error: unexpected {type(exc).__name__}: {reason or '(no message)'} (a bug in dokploy_pulumi; "
            "please report it)"
        )
    return 1


if __name__ == "__main__":
    sys.exit(main())
