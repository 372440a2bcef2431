"""Which `env` texts are Dokploy's ciphertext (refused) and which are the user's own (read).

Dokploy's encryptValue (v0.29.12+, lib/encryption.ts) writes "enc:v1:" + Node's padded base64 of a
12-byte iv, a 16-byte GCM tag and the data, and never encrypts "". A written value that already
starts with "enc:v1:" is stored and answered unchanged (checked on the real v0.30.2), so only the
whole shape marks ciphertext.
"""

from __future__ import annotations

import base64
import secrets

import pytest

from dokploy_pulumi import UndecryptableEnvError
from dokploy_pulumi._models import EnvironmentRow, ProjectRow, is_ciphertext


@pytest.mark.parametrize("data_bytes", [1, 2, 3, 4, 48, 4096])
def test_what_encrypt_value_writes_is_ciphertext(data_bytes):
    text = "enc:v1:" + base64.b64encode(secrets.token_bytes(12 + 16 + data_bytes)).decode()
    assert is_ciphertext(text)
    with pytest.raises(UndecryptableEnvError):
        _ = ProjectRow(projectId="p", name="n", env=text).env


@pytest.mark.parametrize(
    "text",
    [
        "enc:v1:foo=bar\nA=1\n",  # dotenv text whose first line happens to start with the prefix
        "enc:v1:",
        "enc:v1:" + base64.b64encode(b"x" * 28).decode(),  # iv and tag only: "" is never encrypted
        "enc:v1:" + base64.b64encode(b"x" * 40).decode() + "\nA=1",  # more follows
        "enc:v1:" + base64.b64encode(b"x" * 40).decode().rstrip("="),  # Node always pads
        "enc:v1:" + base64.urlsafe_b64encode(b"\xfb" * 40).decode(),  # not Node's alphabet
        " enc:v1:" + base64.b64encode(b"x" * 40).decode(),
        "ENC:V1:" + base64.b64encode(b"x" * 40).decode(),
    ],
)
def test_text_that_only_resembles_ciphertext_is_the_users(text):
    assert not is_ciphertext(text)
    assert EnvironmentRow(environmentId="e", name="n", env=text).env == text
