"""Env texts sealed in one file beside a Pulumi program, opened with one secret stack config value.

Why a file and not stack config: the Python language host hands the *whole* stack config to the
program in one environment variable (PULUMI_CONFIG), which Linux caps at 128 KiB; an estate's env
texts (hundreds of objects, KBs each) do not fit, and the program then never starts ("argument list
too long"). So `python -m dokploy_pulumi import` seals the texts into a file (safe to commit) and
keeps only one short key in config, whatever the estate's size.

The file is JSON: a format tag, the cipher, a key check and one entry per env. Each entry is
AES-256-GCM (authenticated: a changed byte or a wrong key fails, never decrypts to garbage) with a
fresh 96-bit nonce, and the entry's name as associated data, so entries cannot be swapped between
objects. The key check is an HMAC of a fixed text under the key: it tells "sealed with another key"
apart from "damaged" without revealing anything about the key. `cryptography` is imported only when
a file is sealed or opened.

In a program, `SealedEnv(path, key).get(name)` gives one env as a secret Output: its value goes
into the state encrypted like any secret, and never into the program's source or its output.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

if TYPE_CHECKING:
    import pulumi

FORMAT = "dokploy-pulumi sealed env v1"
CIPHER = "AES-256-GCM"
#: Where the key lives: secret stack config `dokployImport:envKey` (set by the import command).
KEY_NAMESPACE, KEY_NAME = "dokployImport", "envKey"
KEY_CONFIG = f"{KEY_NAMESPACE}:{KEY_NAME}"
_KEY_CHECK_TEXT = b"dokploy-pulumi sealed env key check"
_NONCE_BYTES = 12


class SealedEnvError(Exception):
    """A sealed env file cannot be read or opened; the message names the file and entry, never a value."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> str:
    """A fresh random 256-bit key, as text for stack config."""
    return _b64(os.urandom(32))


def _key_bytes(key: str) -> bytes:
    try:
        raw = _unb64(key.strip())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise SealedEnvError(f"the key in {KEY_CONFIG} is not a sealed-env key (43 base64url characters)")
    return raw


def key_check(key: str) -> str:
    """What the file records to recognise its key (an HMAC; reveals nothing about the key)."""
    return _b64(hmac.new(_key_bytes(key), _KEY_CHECK_TEXT, hashlib.sha256).digest()[:16])


def _aad(name: str) -> bytes:
    return f"{FORMAT}\x00{name}".encode()


@dataclass(frozen=True)
class SealedFile:
    """A parsed sealed env file: entry name -> nonce + ciphertext (base64url)."""

    key_check: str
    entries: Mapping[str, str]

    @classmethod
    def parse(cls, text: str, where: str = "the sealed env file") -> SealedFile:
        try:
            data = json.loads(text)
        except ValueError:
            raise SealedEnvError(f"{where} is not JSON") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SealedEnvError(f"{where} is not a {FORMAT!r} file")
        if data.get("cipher") != CIPHER or not isinstance(data.get("keyCheck"), str):
            raise SealedEnvError(f"{where} names no {CIPHER} key check")
        entries = data.get("entries")
        if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
            raise SealedEnvError(f"{where} has no valid entries")
        return cls(key_check=data["keyCheck"], entries=dict(entries))

    @classmethod
    def read(cls, path: Union[str, Path]) -> SealedFile:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SealedEnvError(f"cannot read {path}: {exc.strerror or exc}") from None
        return cls.parse(text, str(path))

    def render(self) -> str:
        """The file's text: one entry per line, sorted, so a re-run's diff shows what changed."""
        lines = [
            "{",
            f'  "format": {json.dumps(FORMAT)},',
            f'  "cipher": {json.dumps(CIPHER)},',
            f'  "keyCheck": {json.dumps(self.key_check)},',
            '  "entries": {',
        ]
        items = sorted(self.entries.items())
        for i, (name, sealed) in enumerate(items):
            comma = "," if i < len(items) - 1 else ""
            lines.append(f"    {json.dumps(name)}: {json.dumps(sealed)}{comma}")
        lines += ["  }", "}"]
        return "\n".join(lines) + "\n"

    def open(self, key: str, name: str, where: str = "the sealed env file") -> str:
        """The plaintext of one entry; SealedEnvError when it is missing, damaged or the key is another."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not hmac.compare_digest(self.key_check, key_check(key)):
            raise SealedEnvError(
                f"{where} was sealed with another key than the stack's {KEY_CONFIG} "
                "(run the import again for this stack)"
            )
        sealed = self.entries.get(name)
        if sealed is None:
            raise SealedEnvError(f"{where} has no entry {name!r} (run the import again)")
        try:
            raw = _unb64(sealed)
            plain = AESGCM(_key_bytes(key)).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(name))
            return plain.decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError, UnicodeDecodeError):
            raise SealedEnvError(f"entry {name!r} of {where} is damaged (it does not open with its key)") from None


def seal(
    values: Mapping[str, str], key: str, previous: Optional[SealedFile] = None, keep: Collection[str] = ()
) -> SealedFile:
    """Seal every value under `key`. An entry of `previous` that already holds the same value under
    the same key is kept as it is, so regenerating an unchanged estate leaves the file unchanged.
    `keep`: entries of `previous` that other code opens, carried over unchanged (only under the same
    key: under another one they would not open anyway)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(_key_bytes(key))
    check = key_check(key)
    entries: dict[str, str] = {}
    if previous is not None and previous.key_check == check:
        entries.update({name: previous.entries[name] for name in keep if name in previous.entries})
    for name, value in values.items():
        if previous is not None and previous.key_check == check and name in previous.entries:
            try:
                if previous.open(key, name) == value:
                    entries[name] = previous.entries[name]
                    continue
            except SealedEnvError:
                pass  # damaged: seal it again
        nonce = os.urandom(_NONCE_BYTES)
        entries[name] = _b64(nonce + aead.encrypt(nonce, value.encode("utf-8"), _aad(name)))
    return SealedFile(key_check=check, entries=entries)


class SealedEnv:
    """The env texts of a sealed file, for a Pulumi program: `get(name)` is a secret Output.

    `key` is the file's key, normally `pulumi.Config("dokployImport").require_secret("envKey")`
    (the default); the file is read at once, each entry is opened when its Output resolves.
    """

    def __init__(self, path: Union[str, Path], key: Optional[pulumi.Input[str]] = None) -> None:
        import pulumi

        self.path = Path(path)
        self._file = SealedFile.read(self.path)
        if key is None:
            key = pulumi.Config(KEY_NAMESPACE).require_secret(KEY_NAME)
        self._key: pulumi.Output[str] = pulumi.Output.secret(key)

    def names(self) -> list[str]:
        return sorted(self._file.entries)

    def get(self, name: str) -> pulumi.Output[str]:
        """The env text sealed under `name`, as a secret Output (an error if there is none)."""
        if name not in self._file.entries:
            raise SealedEnvError(f"{self.path} has no entry {name!r} (run the import again)")
        where = str(self.path)
        return self._key.apply(lambda key: self._file.open(key, name, where))

    def __repr__(self) -> str:  # never the key
        return f"SealedEnv({str(self.path)!r}, {len(self._file.entries)} entries)"
