"""The rehearsal's search for private signing keys where a stolen copy would be taken from.

The AWS emulation exports the private key of every signing key it creates (`RehearsalLayout.kms_private_keys`,
outside every host's tree). Their secret numbers must appear nowhere else: not in Keycloak's database (a
`pg_dump` of the RDS stand-in), not in any file of either host's tree (Keycloak's home and data, the kit,
/etc, /run with the sign-only credentials, logs), and not in any version of any Secrets Manager secret.

Keycloak's own keys keep their private halves in its `component_config` table. On a KMS stack none of them may
be a signing key (its `rsa-generated` and `fallback-*` keys are retired once the KMS key signs,
`idpkit.keys.rotation`): every `privateKey` row of the dump must belong to a provider that does not sign tokens.
The control: the same search must find, in the same dump, the private keys that stay (`rsa-enc-generated`,
encryption only), taken from the dump's own rows: it proves the dump holds the table where Keycloak keeps
private keys, and that the search reads pg_dump's encoding; and the reading of the key components must find the
master realm's generated signing key (the master realm, admin console only and never public, keeps it).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from idpkit.errors import IdpkitError
from idpkit.keycloak_server.kms_provider import PROVIDER_ID
from idpkit.keys.leak_search import Needle, found_in, needles, search_tree
from idpkit.keys.live import KEY_PROVIDER_TYPE, SIGNING_PROVIDERS
from idpkit.rehearsal import database, environment
from idpkit.rehearsal.state import Rehearsal

MASTER_REALM = "master"
PRIVATE_KEY_FIELDS = ("privateKey", "ecdsaPrivateKey", "eddsaPrivateKey")
"""Where Keycloak's key providers keep a private key in `component_config` (RSA; generated EC and EdDSA)."""


def search(run: Rehearsal, *, signs_with_kms: bool) -> str:
    exported = sorted(run.layout.kms_private_keys.glob("*.pk8"))
    if not exported:
        raise IdpkitError("the AWS emulation created no KMS signing key: a search would prove nothing")
    wanted = [needle for path in exported for needle in needles(path.stem, path.read_bytes())]
    dump = database.dump(environment.database_handle(run))
    held = _generated_keys(dump)
    control = [(name, keys) for name, provider, keys in held if provider not in SIGNING_PROVIDERS and keys]
    if not control or not found_in(dump, [n for _name, keys in control for n in keys]):
        raise IdpkitError("control failed: the search does not find Keycloak's own encryption keys in the dump")
    signing = _held_signing_keys(dump)
    if not signing.get(MASTER_REALM):
        raise IdpkitError("control failed: the dump shows no signing key of the master realm's own")
    served = [f"{name} in realm {realm}" for realm, names in signing.items() if realm != MASTER_REALM for name in names]
    hits = [f"database: signing key {name}, private half held by Keycloak" for name in served if signs_with_kms]
    hits += [f"database: {needle.key} {needle.part}" for needle in found_in(dump, wanted)]
    files = 0
    for host in run.hosts:
        read, found = search_tree(host.layout.root, wanted)
        files, hits = files + read, hits + found
    versions, found = _secrets(run, wanted)
    hits += found
    if hits:
        raise IdpkitError(f"private signing key material found: {'; '.join(hits[:10])}")
    generated = ", ".join(sorted({name for name, _keys in control}))
    return (
        f"{len(exported)} KMS key(s) ({len(wanted)} secret numbers): not in the {len(dump) // 1024} KiB dump, "
        f"{files} host files, {versions} secret versions; no signing key among Keycloak's private keys in the dump; "
        f"control: the search finds those that stay ({generated}) and the master realm's "
        f"{', '.join(signing[MASTER_REALM])}"
    )


def _held_signing_keys(dump: bytes) -> dict[str, list[str]]:
    """Per realm name, every signing key provider but KMS's: the served realms must have none; the master realm
    (signs only the admin console's tokens, never public) keeps Keycloak's generated key, the control that
    this reading of the dump finds such keys at all."""
    realms = {row["id"]: row["name"] for row in _copy_rows(dump, "realm")}
    found: dict[str, list[str]] = {}
    for row in _copy_rows(dump, "component"):
        provider = row["provider_id"]
        if row["provider_type"] == KEY_PROVIDER_TYPE and provider in SIGNING_PROVIDERS and provider != PROVIDER_ID:
            realm = realms.get(row["realm_id"], row["realm_id"])
            found.setdefault(realm, []).append(f"{row['name']} ({provider})")
    return found


def _generated_keys(dump: bytes) -> list[tuple[str, str, list[Needle]]]:
    """(name, provider, needles) of every `privateKey` in the dump's component configuration (Keycloak's PEM body)."""
    components = {row["id"]: row for row in _copy_rows(dump, "component")}
    found = []
    for row in _copy_rows(dump, "component_config"):
        if row["name"] not in PRIVATE_KEY_FIELDS:
            continue
        component = components.get(row["component_id"], {"name": row["component_id"], "provider_id": "?"})
        try:
            der = base64.b64decode(row["value"])
            keys = needles(row["id"], der)
        except (binascii.Error, ValueError):
            keys = []
        found.append((f"{component['name']} ({component['provider_id']})", component["provider_id"], keys))
    return found


def _copy_rows(dump: bytes, table: str) -> Iterator[dict[str, str]]:
    """The rows of `table`'s COPY block in a plain pg_dump, by column name."""
    lines = iter(dump.decode(errors="replace").splitlines())
    for line in lines:
        if line.startswith(f"COPY public.{table} ("):
            columns = [c.strip() for c in line[line.index("(") + 1 : line.index(")")].split(",")]
            for row in lines:
                if row == "\\.":
                    return
                yield dict(zip(columns, row.split("\t"), strict=False))


def _secrets(run: Rehearsal, wanted: list[Needle]) -> tuple[int, list[str]]:
    """Every version of every secret in the emulation."""
    import boto3  # noqa: PLC0415 - slow to import

    emulation = run.aws_env()
    client: Any = boto3.client(
        "secretsmanager",
        endpoint_url=emulation["AWS_ENDPOINT_URL"],
        region_name=run.region,
        aws_access_key_id=emulation["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=emulation["AWS_SECRET_ACCESS_KEY"],
    )
    versions, hits = 0, []
    for page in client.get_paginator("list_secrets").paginate():
        for secret in page["SecretList"]:
            listed = client.list_secret_version_ids(SecretId=secret["ARN"], IncludeDeprecated=True)["Versions"]
            for version in listed:
                value = client.get_secret_value(SecretId=secret["ARN"], VersionId=version["VersionId"])
                content = value.get("SecretString", "").encode() + value.get("SecretBinary", b"")
                versions += 1
                hits += [f"secret {secret['Name']}: {n.key} {n.part}" for n in found_in(content, wanted)]
    return versions, hits
