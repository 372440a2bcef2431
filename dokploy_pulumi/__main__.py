"""`python -m dokploy_pulumi`: bring an existing Dokploy under Pulumi, recover interrupted runs, find drift.

A thin argparse dispatcher; the work lives in `_import.py`, `_recover.py` and `_drift.py`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from ._import import Held, Inventory

IMPORT_HELP = """\
Read Dokploy and write the Pulumi program (or a module to import from one) that adopts the
selected projects and all their environments by id (adopt_id), with their exact current names and
descriptions: the first `pulumi up` only reads, and changes nothing on the server.

Connection: resolved as the providers do (README, "Configuration"): the current stack's
dokploy:url, dokploy:apiKey, dokploy:timeout, dokploy:caBundle, dokploy:insecureSkipVerify (read
with `pulumi config` when run in a Pulumi project folder; a config that cannot be read is an
error), else $DOKPLOY_URL, $DOKPLOY_API_KEY, $DOKPLOY_TIMEOUT, ... It only reads (project.all, one project.one per selected project, the server version), and warns
about anything the providers' check would refuse at `pulumi preview`.

Env values are secrets and never go into the generated code or to stdout. They are sealed
(AES-256-GCM) into dokploy-env.sealed beside the code (safe to commit), and the code opens each as a
secret Output with one key, the secret stack config dokployImport:envKey: stack config stays the
same size whatever the estate (the language host passes all of it in one 128 KiB variable). A new
key is stored with `pulumi config set --secret --raw` (value on stdin) by a shell script created
with mode 0600 (--secrets-file; run it in the project folder, then delete it), or with
--apply-config right away, for the current stack (or --stack). A key the stack holds is reused.

Re-running it (with --force) for a stack that already manages objects keeps their names (read
from `pulumi stack export` and the file being regenerated), keeps declaring every object the stack
manages that is still on the server, gives new objects names no managed object has, and never
gives a name to another object, also when its object was deleted or renamed in the UI.
"""

IMPORT_EPILOG = """\
examples:
  python -m dokploy_pulumi import --all --output __main__.py --apply-config
  python -m dokploy_pulumi import --name shop --name "Café ☕" --module dokploy_existing.py
  python -m dokploy_pulumi import --project-id 9lLKRUfeL1fTR8Dv71_XV   # the code to stdout
  python -m dokploy_pulumi import --project-id=-bZ4kT0e1Lq9vQ2wXcY7a   # an id that begins with "-"

Logical names (also the variable names) are ASCII slugs of the Dokploy names, unique over every
project the key can see: duplicates get _2, _3, ... in creation order (environments: in id order).
Names the stack already holds win over these.
"""

RECOVER_HELP = """\
After a `pulumi up` was killed (CI runner gone, laptop closed, Ctrl-C twice), the stack's state
holds pending CREATE operations, and Dokploy may hold the objects those creates made. A plain
`pulumi up` would create them a second time. For each pending create of a dokploy_pulumi
resource, this looks for the object it made: exact name; for environments, in the right project;
owned by no resource in the state; and created after the interrupted update started.

Names are not unique, so only a time that really is that update's start proves ownership: the
stale lock the killed CLI left (file backends; it stays until the state is edited, and is kept in
dokploy-recover-bound-<stack>.json if a later step fails), or an update still in progress in
`pulumi stack history`. It is compared on Dokploy's own clock (server.getServerTime, never a Date header). Then:

  exactly one found   -> RECORD: it goes into the state under that resource, as the provider's
                         read of it stores it (so `pulumi up` then converges it to the program)
  none found          -> CLEAR: the pending create is dropped (`pulumi up` creates it)
  several found       -> AMBIGUOUS: listed with ids and createdAt
  no proof of start   -> UNPROVEN: same-named objects are listed with their createdAt and never
    (`pulumi cancel`     taken without your word: --choose URN ID, --clear URN, or --since TIME
     removed the lock)

Run it in the Pulumi project folder. Without --apply it only reads and prints. `pulumi stack import`
drops every pending operation, so the state is edited only when every pending create is decided
(otherwise nothing changes, exit 2). With --apply: the state is saved to
dokploy-recover-backup-<time>.json (mode 0600, secrets encrypted), the stale lock is removed
(only when its process is gone, and only after every read succeeded), and the edited state is
imported (on stdin). Then run `pulumi up`.
The connection is resolved as the providers do (README, "Configuration"): the stack's
dokploy:* config, else $DOKPLOY_*, and a resource's own Connection where it has one; a stack
config that cannot be read is an error.
Exit status: 0 done (or nothing to do), 2 some pending creates are undecided, 1 error.
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
    p.add_argument(
        "--force", action="store_true", help="regenerate FILE and dokploy-env.sealed if they exist (names are kept)"
    )
    sec = p.add_mutually_exclusive_group()
    sec.add_argument(
        "--secrets-file",
        metavar="FILE",
        help="where to write the `pulumi config set --secret` command storing a new key, mode 0600 "
        "(default: dokploy-import-secrets.sh beside the output, or in the current folder)",
    )
    sec.add_argument(
        "--apply-config", action="store_true", help="store a new key with `pulumi config set --secret` now instead"
    )
    p.add_argument("--stack", help="the stack whose state and config are read (default: the selected stack)")
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
        help="objects created up to SECONDS before the proven start are neither taken nor ruled out: "
        "listed, in case a clock reading was off (default 120)",
    )
    p.add_argument(
        "--choose",
        nargs=2,
        action="append",
        default=[],
        metavar=("URN", "ID"),
        help="for an ambiguous or unproven pending create, the object it made (repeatable); the id "
        "is then no other pending create's candidate",
    )
    p.add_argument(
        "--clear",
        action="append",
        default=[],
        metavar="URN",
        help="drop this pending create: it made nothing, or what it made is to be left alone (repeatable)",
    )
    p.add_argument(
        "--since",
        type=_since,
        metavar="TIME",
        help="when the interrupted update started, on Dokploy's clock (ISO-8601, as the listed createdAt; "
        "UTC if no zone): objects created at or after it are its candidates. Use when no lock proves it",
    )
    p.set_defaults(run=_run_recover)


DRIFT_HELP = """\
Compare what Dokploy holds with what the stacks hold, and list:

  unmanaged  projects and environments on the server that no stack holds (made in the UI, say);
  gone       objects a stack holds that are no longer on the server (`pulumi refresh` drops them);
  shared     objects held by more than one stack, or by two resources of one stack (each would
             change or delete the other's).

A resource holds the object its id names: Project, Environment, ProjectDuplicate,
EnvironmentDuplicate, and ProjectGuard (the project it guards). A project's default environment
comes with the Project or ProjectDuplicate that holds it. Only reads: `project.all` once, and
`pulumi stack export` and `pulumi config` per stack. Env values and keys are never printed.

Stacks: --stack (repeatable), else every stack of the current Pulumi project (`pulumi stack ls`);
--stack FOLDER:STACK is a stack of the project in FOLDER (same backend), e.g. ../payments:prod.
Each stack's connection is resolved as the providers do (README, "Configuration"); the stacks must
all point at one Dokploy, else nothing is compared. A resource with its own Connection to another
Dokploy, or with another API key, is listed as not compared.

--generate FILE writes the Pulumi program adopting the unmanaged objects, as `import` writes it
(same names, sealed env beside it, a 0600 script storing its key): for a new stack, or to merge
into a program by hand. Names any stack holds are never given to another object.

Exit status: 0 no drift, 1 drift found, 2 error (stacks on different servers or keys, a stack with pending
operations from an interrupted update, a server that cannot be read, a FILE --generate refuses).
"""


def _drift_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "drift",
        help="list objects no stack manages, held objects gone from the server, objects held twice",
        description=DRIFT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--stack",
        action="append",
        default=[],
        metavar="STACK",
        help="a stack to compare, or FOLDER:STACK for a stack of another project folder (repeatable; "
        "default: every stack of the current project)",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--generate", metavar="FILE", help="write the program adopting the unmanaged objects to FILE")
    p.add_argument("--force", action="store_true", help="overwrite FILE and the sealed env file beside it")
    p.set_defaults(run=_run_drift)


def _since(text: str) -> dt.datetime:
    from ._models import parse_timestamp

    moment = parse_timestamp(text)
    if moment is None:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r} (e.g. 2026-12-07T08:15:00Z)")
    return moment


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dokploy_pulumi",
        description="Tools for dokploy_pulumi stacks: generate a program adopting an existing Dokploy "
        "(import), recover from an interrupted `pulumi up` (recover), compare stacks with the server (drift).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{import,recover,drift}")
    _import_parser(sub)
    _recover_parser(sub)
    _drift_parser(sub)
    return parser


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _run_import(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from . import _import as imp
    from . import _sealed
    from ._connection import connect, resolve
    from ._pulumi_cli import PulumiCLI, apply_secrets, connection_source, read_stack, secrets_script, write_private

    selection = imp.Selection(all=args.all, project_ids=tuple(args.project_id), names=tuple(args.name))
    target = Path(args.output or args.module) if (args.output or args.module) else None
    folder = target.parent if target is not None else Path.cwd()
    sealed_path = folder / imp.SEALED_FILE
    _refuse_overwrite(target, args.force)
    # What the stack already manages keeps its names; regenerating must drop none of it.
    cli = PulumiCLI(stack=args.stack)
    stack = read_stack(cli)
    existing = target.read_text(encoding="utf-8") if target is not None and target.exists() else None
    held = imp.held_names(stack.resources if stack else (), existing, module=bool(args.module))
    keep = (set(held.projects) | set(held.environments)) - held.elsewhere
    settings = resolve(connection_source(cli), None)
    with connect(settings) as client:
        inventory = imp.read_server(client, selection, also=keep)
    names = imp.assign_names(inventory.listed, held, inventory.tags)
    generated = imp.render(
        inventory,
        names,
        command="python -m dokploy_pulumi " + shlex.join(argv),
        url=settings.url,
        now=dt.datetime.now(dt.timezone.utc),
        module=bool(args.module),
        held=held,
    )
    problems = imp.preflight(generated)
    for problem in problems:
        _say(f"warning: `pulumi preview` will refuse {problem}")
    if problems:
        _say(
            "warning: Dokploy holds these env texts, but no dotenv spelling the providers can send carries "
            "those values back unchanged (Dokploy reads env with Node's dotenv, which has no escapes), so the "
            "providers refuse them: change them in Dokploy, then run the import again. (Leaving `env=` out "
            "would not help: adoption would then clear the env.)"
        )
    for line in imp.held_notes(held, inventory, stack.name if stack else None):
        _say(line)

    if generated.secrets:
        _refuse_overwrite(sealed_path, args.force)
    sealed, key, new_key = imp.seal_secrets(generated.secrets, sealed_path, stack.config if stack else {}, existing)
    if new_key and args.apply_config:
        # Before any file refers to it; the stack had no key, so nothing else depends on it.
        apply_secrets([(_sealed.KEY_CONFIG, key)], args.stack)
    if sealed is not None:
        # Before the code: the code must never name an entry the file does not hold yet.
        sealed_path.write_text(sealed.render(), encoding="utf-8")
    if target is None:
        sys.stdout.write(generated.code)
    else:
        target.write_text(generated.code, encoding="utf-8")
        held_names = set(held.projects.values()) | set(held.environments.values())
        kept = sum(1 for _, logical, _ in generated.declared if logical in held_names)
        from_stack = f"; {kept} keep the names the stack holds" if kept else ""
        _say(
            f"Wrote {target}: {generated.projects} project(s), {generated.environments} environment(s), "
            + (f"{generated.tags} tag(s), " if generated.tags else "")
            + f"adopted by id{from_stack}."
        )
    kept_others = len(sealed.entries) - len(generated.secrets) if sealed is not None else 0
    if sealed is None:
        _say("No env to seal: every declared env is empty.")
    else:
        _say(
            f"Wrote {sealed_path}: the env texts of {len(generated.secrets)} object(s), sealed (AES-256-GCM)"
            + (f", and {kept_others} other code opens, kept as they were" if kept_others else "")
            + f"; safe to commit. The program opens it with the secret stack config {_sealed.KEY_CONFIG}."
        )
        if not new_key:
            _say(f"Sealed with the key the stack already holds ({_sealed.KEY_CONFIG}).")
        elif args.apply_config:
            _say(f"Stored the key as secret stack config {_sealed.KEY_CONFIG}.")
        else:
            script = Path(args.secrets_file) if args.secrets_file else folder / imp.SECRETS_SCRIPT
            write_private(script, secrets_script([(_sealed.KEY_CONFIG, key)], args.stack))
            _say(
                f"Wrote {script} (mode 0600): it holds the SECRET key of {sealed_path.name} as a "
                f"`pulumi config set --secret` command. Run `sh {shlex.quote(str(script))}` in the Pulumi "
                "project folder, then delete it."
            )
    legacy = imp.legacy_env_keys(stack.config if stack else {}, generated)
    if legacy:
        _say(
            f"note: the stack config still holds {len(legacy)} env value(s) from an earlier import "
            f"({', '.join(legacy[:5])}{', ...' if len(legacy) > 5 else ''}); the program reads the sealed file "
            "now: remove them with `pulumi config rm KEY` once `pulumi preview` shows no change."
        )
    if target is not None:
        _say("Next: `pulumi preview` (expect only reads), then `pulumi up`.")
    return 0


def _refuse_overwrite(path: Optional[Path], force: bool) -> None:
    from ._import import ImportFailed

    if path is not None and path.exists() and not force:
        raise ImportFailed(f"{path} exists; pass --force to regenerate it (names the stack holds are kept)")


def _run_recover(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from . import _recover as rec

    return rec.main(
        stack=args.stack,
        apply=args.apply,
        clock_skew=args.clock_skew,
        choices=dict(args.choose),
        clears=args.clear,
        since=args.since,
        out=sys.stdout,
    )


def _run_drift(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from . import _drift
    from . import _import as imp
    from ._connection import connect

    target = Path(args.generate) if args.generate else None
    _refuse_overwrite(target, args.force)
    stacks = _drift.read_stacks(args.stack)
    existing = target.read_text(encoding="utf-8") if target is not None and target.exists() else None
    if existing is not None and target is not None:
        _drift.refuse_dropping_held(existing, target, stacks)  # before any request
    settings = stacks[0].settings
    inventory = None
    with connect(settings) as client:
        listed = imp.list_projects(client)
        report = _drift.compare(listed, stacks)
        wanted = _drift.projects_to_read(report)
        if target is not None and wanted:
            inventory = imp.read_server(client, imp.Selection(project_ids=tuple(wanted)), listed=listed)
    sys.stdout.write(report.to_json() + "\n" if args.json else report.to_text())
    if target is not None:
        if inventory is None:
            _say(f"Nothing unmanaged: {target} not written.")
        else:
            held = _drift.generation_held(stacks, existing)
            _write_adoption(inventory, held, target, settings.url, argv, args.force)
    return 0 if report.clean else 1


def _write_adoption(inventory: Inventory, held: Held, target: Path, url: str, argv: Sequence[str], force: bool) -> None:
    """`import`'s program for the unmanaged objects, its sealed env and the 0600 script storing the key."""
    from . import _drift, _sealed
    from . import _import as imp
    from ._pulumi_cli import secrets_script, write_private

    names = imp.assign_names(inventory.listed, held)
    existing = target.read_text(encoding="utf-8") if target.exists() else None
    generated = imp.render(
        inventory,
        names,
        command="python -m dokploy_pulumi " + shlex.join(argv),
        url=url,
        now=dt.datetime.now(dt.timezone.utc),
        held=held,
    )
    for problem in imp.preflight(generated):
        _say(f"warning: `pulumi preview` will refuse {problem}")
    sealed_path = target.parent / imp.SEALED_FILE
    _drift.refuse_foreign_sealed(sealed_path, existing)
    if generated.secrets:
        _refuse_overwrite(sealed_path, force)
    target.parent.mkdir(parents=True, exist_ok=True)  # a new program's folder, typically
    # A new stack adopts it: it holds no key yet, so a new one.
    sealed, key, _ = imp.seal_secrets(generated.secrets, sealed_path, {}, existing)
    if sealed is not None:
        sealed_path.write_text(sealed.render(), encoding="utf-8")  # before the code that opens it
    target.write_text(generated.code, encoding="utf-8")
    _say(f"Wrote {target}: {generated.projects} project(s), {generated.environments} environment(s), adopted by id.")
    if sealed is not None:
        script = target.parent / imp.SECRETS_SCRIPT
        write_private(script, secrets_script([(_sealed.KEY_CONFIG, key)], None))
        _say(
            f"Wrote {sealed_path} (env sealed, safe to commit) and {script} (mode 0600): it holds the SECRET key "
            f"as a `pulumi config set --secret {_sealed.KEY_CONFIG}` command. Run it with the adopting stack "
            "selected, then delete it."
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
    # `drift` is a CI check: 1 means findings, so its errors exit 2.
    failed = 2 if args.command == "drift" else 1
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
    return failed


if __name__ == "__main__":
    sys.exit(main())
