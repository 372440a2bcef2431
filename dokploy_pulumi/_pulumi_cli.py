"""What `python -m dokploy_pulumi import` and `recover` share: the Pulumi CLI and the stack's config.

Both commands run outside any Pulumi program, so the stack config the provider gets from the
engine is read here with `pulumi config --json --show-secrets` (`CLIConfig`); the connection is
then resolved by the provider's own resolver (`_connection.resolve`): stack config first, then the
environment. They drive the CLI as a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ._connection import ENV_API_KEY, ConfigSource
from ._redact import Secrets


class CommandFailed(Exception):
    """The command cannot go on; the message says why (never with a key or an env value)."""


# -- secrets: the config commands ----------------------------------------------------------------


def _sh_quote(text: str) -> str:
    """POSIX single quotes: every byte literal, a ' written as '\\''."""
    if "\x00" in text:
        raise CommandFailed("an env value contains a NUL byte, which no shell or config value can hold")
    return "'" + text.replace("'", "'\\''") + "'"


def config_set_argv(key: str, stack: Optional[str]) -> list[str]:
    """`pulumi config set --secret --raw KEY`: the value comes on stdin, byte for byte."""
    argv = ["pulumi", "config", "set", "--secret", "--raw"]
    if stack:
        argv += ["--stack", stack]
    return [*argv, "--", key]


def secrets_script(secrets: Sequence[tuple[str, str]], stack: Optional[str]) -> str:
    """A POSIX shell script setting every env as a secret config value.

    The value is piped from `printf` (a shell builtin), so it never appears in a process's argv,
    and `--raw` keeps a trailing newline.
    """
    lines = [
        "#!/bin/sh",
        "# Written by `python -m dokploy_pulumi import`. It holds SECRET env values: run it in the",
        "# Pulumi project folder with the right stack selected, then delete it.",
        "set -eu",
    ]
    for key, text in secrets:
        argv = " ".join(
            _sh_quote(a) if not re.fullmatch(r"[A-Za-z0-9_:./=-]+", a) else a for a in config_set_argv(key, stack)
        )
        lines.append(f"printf '%s' {_sh_quote(text)} | {argv}")
    lines.append(f"echo 'Set {len(secrets)} secret config value(s).'")
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only (0600), also when the file existed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fd = -1
            fh.write(text)
    finally:
        if fd != -1:
            os.close(fd)


def apply_secrets(secrets: Sequence[tuple[str, str]], stack: Optional[str], cwd: Optional[Path] = None) -> None:
    """Run `pulumi config set --secret --raw KEY` for each env, the value on stdin only."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise CommandFailed("--apply-config needs the pulumi CLI on PATH")
    for key, text in secrets:
        argv = config_set_argv(key, stack)
        proc = subprocess.run(
            [pulumi, *argv[1:]],
            input=text.encode("utf-8"),
            capture_output=True,
            cwd=cwd,
            check=False,
        )
        if proc.returncode != 0:
            # The CLI's message never contains the value (it came on stdin).
            reason = proc.stderr.decode(errors="replace").strip() or proc.stdout.decode(errors="replace").strip()
            raise CommandFailed(f"`pulumi config set --secret {key}` failed: {reason}")


# -- connection -----------------------------------------------------------------------------------


#: Environment variables whose values no message may show (the CLI could echo them).
_SECRET_ENV = (ENV_API_KEY, "PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN")

#: The secret stack config values this process has read, for the commands' last-resort error
#: message (`__main__.main`), which knows nothing else about them.
SEEN = Secrets()


def environment_secrets(environ: Optional[Mapping[str, str]] = None) -> Secrets:
    """The secrets a command's messages must never show: the environment's and `SEEN`'s."""
    env = os.environ if environ is None else environ
    secrets = Secrets(env.get(name) for name in _SECRET_ENV)
    secrets.update(SEEN)
    return secrets


def in_pulumi_project(cwd: Optional[Path] = None) -> bool:
    """Whether `cwd` (default: the current folder) or a folder above it holds a Pulumi.yaml."""
    where = (cwd or Path.cwd()).resolve()
    return any((d / "Pulumi.yaml").exists() or (d / "Pulumi.yml").exists() for d in (where, *where.parents))


def pulumi_stack_config(
    stack: Optional[str], cwd: Optional[Path] = None, env: Optional[Mapping[str, str]] = None
) -> Optional[dict[str, str]]:
    """The stack's config (`pulumi config --json --show-secrets`, secrets decrypted).

    None outside a Pulumi project folder (then the environment alone configures the connection).
    In a project folder a config that cannot be read (no passphrase, no stack selected, no CLI)
    is an error saying why: falling back to `$DOKPLOY_URL` could silently switch servers.
    """
    if not in_pulumi_project(cwd):
        return None
    environ = os.environ if env is None else env
    pulumi = shutil.which("pulumi", path=environ.get("PATH"))
    if pulumi is None:
        raise CommandFailed(
            "cannot read the stack's config (this is a Pulumi project folder): the pulumi CLI is not on PATH"
        )
    argv = [pulumi, "config", "--json", "--show-secrets", "--non-interactive"] + (["--stack", stack] if stack else [])
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env, check=False, stdin=subprocess.DEVNULL)
    data: Any = None
    if proc.returncode == 0:
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            data = None
    if not isinstance(data, dict):
        # Only stderr: stdout may hold decrypted values. Redacted, one line.
        reason = (
            environment_secrets(environ).snippet(proc.stderr, limit=2000)
            or f"exit status {proc.returncode}, no message"
        )
        raise CommandFailed(
            f"cannot read the stack's config (`pulumi config --json --show-secrets"
            f"{' --stack ' + shlex.quote(stack) if stack else ''}` failed: {reason}); the Dokploy connection "
            "is read from it in a Pulumi project folder, and no other source is used instead"
        )
    values = {k: v["value"] for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("value"), str)}
    SEEN.add(*(values[k] for k, v in data.items() if k in values and (v.get("secret") or k.endswith(":apiKey"))))
    return values


class CLIConfig:
    """A stack's config as `ConfigSource` reads it (`get(key)`), read through `PulumiCLI` on first use."""

    def __init__(self, cli: PulumiCLI) -> None:
        self._cli = cli

    def get(self, key: str) -> Optional[str]:
        return self._cli.config_get(key)


def connection_source(cli: PulumiCLI, environ: Optional[Mapping[str, str]] = None) -> ConfigSource:
    """The provider's `ConfigSource` for a command: the stack's config, then the environment."""
    return ConfigSource(CLIConfig(cli), os.environ if environ is None else environ)


# -- talking to the pulumi CLI --------------------------------------------------------------------


@dataclass
class PulumiCLI:
    """Runs `pulumi` in the project folder for one stack (None: the selected one)."""

    stack: Optional[str] = None
    cwd: Optional[Path] = None
    env: Optional[Mapping[str, str]] = None
    _config: Optional[dict[str, str]] = field(default=None, init=False, repr=False)

    def run(self, *args: str, check: bool = True, stack_scoped: bool = True) -> subprocess.CompletedProcess[str]:
        exe = shutil.which("pulumi", path=(self.env or os.environ).get("PATH"))
        if exe is None:
            raise CommandFailed("the pulumi CLI is not on PATH")
        argv = [exe, *args, "--non-interactive"] + (["--stack", self.stack] if self.stack and stack_scoped else [])
        proc = subprocess.run(
            argv,
            cwd=self.cwd,
            env=dict(self.env) if self.env is not None else None,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise CommandFailed(f"`pulumi {' '.join(args)}` failed:\n{proc.stdout}{proc.stderr}".rstrip())
        return proc

    def command(self, *args: str) -> str:
        """How the user would type it."""
        parts = ["pulumi", *args] + (["--stack", self.stack] if self.stack else [])
        return " ".join(_shell_word(p) for p in parts)

    def export(self) -> dict[str, Any]:
        exported: dict[str, Any] = json.loads(self.run("stack", "export").stdout)
        return exported

    def export_revealed(self) -> dict[str, Any]:
        """`pulumi stack export --show-secrets`: kept in memory only, never written anywhere."""
        exported: dict[str, Any] = json.loads(self.run("stack", "export", "--show-secrets").stdout)
        return exported

    def import_state(self, deployment: Mapping[str, Any]) -> None:
        """`pulumi stack import` with the document on stdin, never in a file: its secrets may be
        plaintext (the CLI encrypts them with the stack's secrets provider before saving)."""
        exe = shutil.which("pulumi", path=(self.env or os.environ).get("PATH"))
        if exe is None:
            raise CommandFailed("the pulumi CLI is not on PATH")
        argv = [exe, "stack", "import", "--non-interactive"] + (["--stack", self.stack] if self.stack else [])
        proc = subprocess.run(
            argv,
            input=json.dumps(deployment),
            cwd=self.cwd,
            env=dict(self.env) if self.env is not None else None,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise CommandFailed(f"`pulumi stack import` failed:\n{proc.stdout}{proc.stderr}".rstrip())

    def config(self) -> dict[str, str]:
        """The stack's config (secrets decrypted), read once; {} outside a Pulumi project folder.
        Raises CommandFailed when the config cannot be read."""
        if self._config is None:
            self._config = pulumi_stack_config(self.stack, self.cwd, self.env) or {}
        return self._config

    def config_get(self, key: str) -> Optional[str]:
        """One stack config value (see `config`)."""
        return self.config().get(key)

    def backend_url(self) -> Optional[str]:
        proc = self.run("whoami", "--verbose", "--json", check=False, stack_scoped=False)
        try:
            return str(json.loads(proc.stdout).get("url") or "") or None
        except ValueError:
            return None

    def stack_names(self) -> list[str]:
        """Every stack of the current project in the backend (`pulumi stack ls --json`)."""
        listed = json.loads(self.run("stack", "ls", "--json", stack_scoped=False).stdout or "[]")
        return [str(s["name"]) for s in listed if isinstance(s, dict) and s.get("name")]

    def stack_name(self) -> Optional[str]:
        proc = self.run("stack", "--show-name", "--fully-qualify-stack-names", check=False)
        name = proc.stdout.strip()
        return name or None


def _shell_word(word: str) -> str:
    return shlex.quote(word)


# -- what `import` reads from the stack -----------------------------------------------------------


@dataclass(frozen=True)
class StackView:
    """The stack `import` generates for: its resources, and its config (secrets decrypted, in memory only)."""

    name: str
    # (type, URN name, id) of every resource in the state that has an id.
    resources: tuple[tuple[str, str, str], ...]
    config: Mapping[str, str] = field(repr=False)
    # The same resources as the state holds them (inputs, outputs; secrets still encrypted), in order.
    states: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    # (type, URN name) of each operation an interrupted update left pending (`pending_operations`).
    pending: tuple[tuple[str, str], ...] = ()


def read_stack(cli: PulumiCLI) -> Optional[StackView]:
    """The stack's resources (`pulumi stack export`) and config, or None when there is no stack:
    outside a Pulumi project, or in one with no stack selected and none given.

    Any other failure is an error, never "nothing managed": names chosen blind to the state could
    give a managed object's name to another one. The config is read once, through `cli` (the same
    reading, and the same error, as the connection's).
    """
    if not in_pulumi_project(cli.cwd) or shutil.which("pulumi", path=(cli.env or os.environ).get("PATH")) is None:
        return None
    name = cli.stack or cli.stack_name()
    if name is None:
        return None
    deployment = cli.export().get("deployment") or {}
    states = tuple(r for r in deployment.get("resources") or [] if r.get("id") and r.get("urn") and not r.get("delete"))
    resources = tuple((str(r.get("type", "")), str(r["urn"]).rsplit("::", 1)[-1], str(r["id"])) for r in states)
    pending = tuple(
        (str(op.get("type", "")), str((op.get("resource") or {}).get("urn", "")).rsplit("::", 1)[-1])
        for op in deployment.get("pending_operations") or []
        if isinstance(op, dict)
    )
    return StackView(name=name, resources=resources, config=cli.config(), states=states, pending=pending)
