"""Stacks that 0.1.0 wrote still refresh, update and destroy: their state holds each resource's
`__provider` as 0.1.0 pickled it (the literals below, from its code). The provider classes never
move (dokploy_pulumi.providers), and their instances hold nothing, so today's pickle is byte for
byte the same; a change there (a renamed class, a module, state kept on the instance) fails here
before it strands a user's stack."""

from __future__ import annotations

import base64

import dill
from _backend import n

from dokploy_pulumi import providers
from dokploy_pulumi.testing.provider_server import blob_of

RELEASE_0_1_0 = {
    "EnvironmentDuplicateProvider": "gASVQAAAAAAAAACMGGRva3Bsb3lfcHVsdW1pLnByb3ZpZGVyc5SMHEVudmlyb25tZW50RHVwbGljYXRlUHJvdmlkZXKUk5QpgZQu",
    "EnvironmentProvider": "gASVNwAAAAAAAACMGGRva3Bsb3lfcHVsdW1pLnByb3ZpZGVyc5SME0Vudmlyb25tZW50UHJvdmlkZXKUk5QpgZQu",
    "ProjectDuplicateProvider": "gASVPAAAAAAAAACMGGRva3Bsb3lfcHVsdW1pLnByb3ZpZGVyc5SMGFByb2plY3REdXBsaWNhdGVQcm92aWRlcpSTlCmBlC4=",
    "ProjectProvider": "gASVMwAAAAAAAACMGGRva3Bsb3lfcHVsdW1pLnByb3ZpZGVyc5SMD1Byb2plY3RQcm92aWRlcpSTlCmBlC4=",
}  # fmt: skip


def test_the_blobs_0_1_0_wrote_load_as_todays_classes_and_todays_pickle_is_the_same() -> None:
    for name, blob in RELEASE_0_1_0.items():
        provider = dill.loads(base64.b64decode(blob))
        assert type(provider) is getattr(providers, name)
        assert blob_of(type(provider)()) == blob


def test_a_project_under_a_0_1_0_blob_is_created_read_and_deleted(server, backend) -> None:
    blob = RELEASE_0_1_0["ProjectProvider"]
    props = {"__provider": blob, "name": n("old-state"), "description": None, "env": {"A": "1"}, "force_destroy": False}
    inputs, failures = server.check({}, props)
    assert failures == []
    id_, outs = server.create(inputs)
    read_id, read_outs, _ = server.read(id_, outs, inputs)
    assert read_id == id_ and read_outs["env"] == {"A": "1"}
    server.delete(id_, outs)
    assert backend.get_project(id_) is None
