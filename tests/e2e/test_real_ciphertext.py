"""An `env` Dokploy cannot decrypt, through the real Pulumi CLI and `python -m dokploy_pulumi import`.

Since v0.29.12 Dokploy encrypts project and environment env at rest (AES-256-GCM, `enc:v1:`), and
a value encrypted under another key (its BETTER_AUTH_SECRET or ENCRYPTION_KEY changed, a backup
restored elsewhere) is answered as that ciphertext with status 200. Here the quickstart is brought
up, then a well-formed `enc:v1:` value encrypted with a key that is not the server's is written
straight into the project's and the staging environment's rows, as Dokploy's own
`packages/server/src/lib/encryption.ts` would write it. Then:

- the server answers the ciphertext as the env (what makes the provider's check necessary);
- `pulumi refresh` fails with the named error for both resources, and the state keeps the
  variables it had: nothing of the ciphertext reaches it;
- `python -m dokploy_pulumi import` fails with the same error and writes no program or secrets;
- `pulumi destroy` still works (removing never takes the env as a value).

On a real server the value goes into its database, which the test finds through the recipe's
root (`../shared/real-dokploy`, `/var/tmp/real-dokploy/<version>`: the `env` file whose URL is the
server's, and the server's own `.env` for DATABASE_URL). A server that is not one of the recipe's
cannot be reached that way: only then is the test skipped, with the reason. Releases before
v0.29.12 answer the stored text as it is, which is what a v0.29.12+ backup restored on them does,
so the test runs there too. On the emulator the row is edited directly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

import pytest
from _backend import AGAINST_REAL, n
from _pulumi import REPO_ROOT, PulumiStackFactory
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dokploy_pulumi._client import normalize_url

QUICKSTART = REPO_ROOT / "examples" / "quickstart"
RECIPE_ROOTS = Path(os.environ.get("REAL_DOKPLOY_ROOTS") or "/var/tmp/real-dokploy")
NAMED = "Dokploy could not decrypt the env of"

pytestmark = pytest.mark.timeout(1800)


def foreign_ciphertext(plaintext: str) -> str:
    """`plaintext` encrypted as Dokploy does (`encryptValue`), under a secret that is not the server's."""
    key = hmac.new(secrets.token_bytes(32), b"dokploy:db-encryption:v1", hashlib.sha256).digest()
    iv = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(iv, plaintext.encode(), None)  # ciphertext + 16-byte tag
    return "enc:v1:" + base64.b64encode(iv + sealed[-16:] + sealed[:-16]).decode()


def _recipe_database(url: str) -> Optional[str]:
    """DATABASE_URL of the recipe's server at `url`, or None when no recipe root serves that URL."""
    wanted = normalize_url(url)
    for root in sorted(RECIPE_ROOTS.glob("*")):
        env_file = root / "env"
        if not env_file.is_file():
            continue
        lines = env_file.read_text().splitlines()
        urls = [line.split("=", 1)[1].strip() for line in lines if line.startswith("export REAL_DOKPLOY_URL=")]
        if not urls or normalize_url(urls[0]) != wanted:
            continue
        dotenv = root / "src" / "apps" / "dokploy" / ".env"
        assert dotenv.is_file(), f"{root} serves {url} but has no {dotenv}"
        found = [
            line.split("=", 1)[1].strip()
            for line in dotenv.read_text().splitlines()
            if line.startswith("DATABASE_URL=")
        ]
        assert found, f"{dotenv} names no DATABASE_URL"
        return found[0]
    return None


def _write_rows(database_url: str, table: str, id_column: str, row_id: str, value: str) -> None:
    """UPDATE one row's env in the server's Postgres (on 127.0.0.1 only), through psql."""
    parts = urlsplit(database_url)
    assert parts.hostname == "127.0.0.1", "the tests talk to no host but 127.0.0.1"
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    script = f"UPDATE \"{table}\" SET env = :'value' WHERE \"{id_column}\" = :'row';\n"
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "", "-d",
         parts.path.lstrip("/"), "-v", "ON_ERROR_STOP=1", "-v", f"value={value}", "-v", f"row={row_id}",
         "-qAt", "-f", "-"],
        input=script, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"psql failed: {done.stderr.strip()}"
    assert done.stdout.strip() == "" or "UPDATE 1" in done.stdout


def store_ciphertext(backend: Any, kind: str, row_id: str, value: str) -> None:
    if not AGAINST_REAL:
        setter = backend.set_project_fields if kind == "project" else backend.set_environment_fields
        setter(row_id, env=value)
        return
    database = _recipe_database(backend.upstream)
    if database is None:
        pytest.skip(
            f"{backend.upstream} is not a server of ../shared/real-dokploy (no root under {RECIPE_ROOTS} serves "
            "it), so the test cannot reach its database to store a value it cannot decrypt"
        )
    table, column = ("project", "projectId") if kind == "project" else ("environment", "environmentId")
    _write_rows(database, table, column, row_id, value)


def test_ciphertext_env_is_named_on_refresh_and_import(backend, pulumi_stack: PulumiStackFactory):
    env: dict[str, Any] = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update({"DOKPLOY_URL": backend.url, "DOKPLOY_API_KEY": backend.api_key})
    stack = pulumi_stack(QUICKSTART, env=env)
    # The example asks for `virtualenv: venv`; here it runs with the tests' interpreter (as in
    # test_real_subset.py).
    (stack.program_dir / "Pulumi.yaml").write_text("name: dokploy-ciphertext\nruntime: python\n")
    stack.init()
    stack.set_config("projectName", n("cipher"))
    stack.up()
    try:
        outputs = stack.outputs()
        project_id, staging_id = outputs["project_id"], outputs["staging_environment_id"]
        project_value = foreign_ciphertext("LOG_LEVEL=secret-project-value")
        staging_value = foreign_ciphertext("DEBUG=secret-staging-value")
        store_ciphertext(backend, "project", project_id, project_value)
        store_ciphertext(backend, "environment", staging_id, staging_value)
        # The server answers the stored text as the env, with status 200.
        assert backend.get_project(project_id)["env"] == project_value
        assert backend.get_environment(staging_id)["env"] == staging_value
        before = stack.export(show_secrets=True)

        refreshed = stack.refresh(expect_failure=True)
        text = refreshed.output
        assert f"{NAMED} project {n('cipher')!r} ({project_id})" in text
        assert f"{NAMED} environment 'staging' ({staging_id})" in text
        assert "BETTER_AUTH_SECRET or ENCRYPTION_KEY changed" in text
        after = stack.export(show_secrets=True)
        dumped = str(after)
        assert project_value not in dumped and staging_value not in dumped and "enc:v1:" not in dumped
        by_urn = {r["urn"]: r.get("outputs", {}).get("env") for r in after["deployment"]["resources"]}
        assert by_urn == {r["urn"]: r.get("outputs", {}).get("env") for r in before["deployment"]["resources"]}

        out_dir = stack.program_dir / "imported"
        out_dir.mkdir()
        gen = subprocess.run(
            [sys.executable, "-m", "dokploy_pulumi", "import", "--name", n("cipher"), "--output", "__main__.py"],
            cwd=out_dir, env=stack.env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert gen.returncode != 0
        # The first undecryptable env it meets stops it (the environments are read first).
        named = (f"{NAMED} project {n('cipher')!r} ({project_id})", f"{NAMED} environment 'staging' ({staging_id})")
        assert any(line in gen.stderr for line in named), gen.stderr
        written = "".join(p.read_text() for p in out_dir.rglob("*") if p.is_file())
        for shown in (gen.stdout, gen.stderr, written, text):
            assert project_value not in shown and staging_value not in shown
            assert project_value[7:20] not in shown and staging_value[7:20] not in shown  # no part of it either
        assert "enc:v1:" not in written
        assert not (out_dir / "__main__.py").exists()
    finally:
        stack.destroy()  # removing never reads the env: it works with the ciphertext still there
    assert backend.get_project(project_id) is None


def test_a_copy_of_an_undecryptable_environment_is_not_left_behind(backend, pulumi_stack: PulumiStackFactory):
    """environment.duplicate copies the source's env as stored: the copy of an environment whose env
    the server cannot decrypt holds the same ciphertext (seen on the real v0.30.2). `pulumi up` of an
    EnvironmentDuplicate of it fails with the named error, and the copy it made is removed again:
    nothing is left in Dokploy that the state does not know."""
    env: dict[str, Any] = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update({"DOKPLOY_URL": backend.url, "DOKPLOY_API_KEY": backend.api_key})
    stack = pulumi_stack(QUICKSTART, env=env)
    (stack.program_dir / "Pulumi.yaml").write_text("name: dokploy-ciphertext-copy\nruntime: python\n")
    with (stack.program_dir / "__main__.py").open("a") as program:
        program.write(
            "\nfrom dokploy_pulumi import EnvironmentDuplicate\n"
            "if config.get_bool('copyStaging'):\n"
            "    EnvironmentDuplicate('copy', source_environment_id=staging.id, name='staging-copy')\n"
        )
    stack.init()
    stack.set_config("projectName", n("ciphercopy"))
    stack.up()
    try:
        outputs = stack.outputs()
        project_id, staging_id = outputs["project_id"], outputs["staging_environment_id"]
        staging_value = foreign_ciphertext("DEBUG=secret-staging-value")
        store_ciphertext(backend, "environment", staging_id, staging_value)
        before = {e["environmentId"] for e in backend.environments() if e["projectId"] == project_id}

        stack.set_config("copyStaging", "true")
        failed = stack.up(expect_failure=True)
        # v0.30.2 copies the ciphertext (the copy's env is named); v0.26.7 copies no env, and the
        # source's, read to set it on the copy, is named.
        assert (
            f"{NAMED} environment 'staging-copy'" in failed.output or f"{NAMED} environment 'staging'" in failed.output
        )
        assert "was removed again" in failed.output
        assert staging_value not in failed.output
        after = {e["environmentId"] for e in backend.environments() if e["projectId"] == project_id}
        assert after == before  # no copy left behind
        assert not any(r["type"].endswith("EnvironmentDuplicate") for r in stack.resources())
    finally:
        stack.destroy()
    assert backend.get_project(project_id) is None
