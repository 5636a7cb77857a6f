"""The rehearsal's search for the KMS signing keys' private keys where a stolen copy would be taken from.

The AWS emulation exports the private key of every signing key it creates (`RehearsalLayout.kms_private_keys`,
outside every host's tree). Their secret numbers must appear nowhere else: not in Keycloak's database (a
`pg_dump` of the RDS stand-in), not in any file of either host's tree (Keycloak's home and data, the kit,
/etc, /run with the sign-only credentials, logs), and not in any version of any Secrets Manager secret.

The control: the same search must find, in the same dump, the private keys Keycloak generated itself
(`rsa-generated`, `hmac-generated`, … keep theirs in its `component_config` table), taken from the dump's
own rows: it proves the dump holds the table where Keycloak keeps private keys, and that the search reads
pg_dump's encoding. Those generated keys are what remains in the database on a KMS stack (docs/aws.md).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from idpkit.errors import IdpkitError
from idpkit.keys.leak_search import Needle, found_in, needles, search_tree
from idpkit.rehearsal import database, environment
from idpkit.rehearsal.state import Rehearsal


def search(run: Rehearsal) -> str:
    exported = sorted(run.layout.kms_private_keys.glob("*.pk8"))
    if not exported:
        raise IdpkitError("the AWS emulation created no KMS signing key: a search would prove nothing")
    wanted = [needle for path in exported for needle in needles(path.stem, path.read_bytes())]
    dump = database.dump(environment.database_handle(run))
    control = _generated_keys(dump)
    if not control or not found_in(dump, [n for _name, keys in control for n in keys]):
        raise IdpkitError("control failed: the search does not find Keycloak's own generated keys in the dump")
    hits = [f"database: {needle.key} {needle.part}" for needle in found_in(dump, wanted)]
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
        f"{files} host files, {versions} secret versions; control: the dump holds Keycloak's generated keys "
        f"({generated})"
    )


def _generated_keys(dump: bytes) -> list[tuple[str, list[Needle]]]:
    """(provider, needles) of every `privateKey` in the dump's component configuration (Keycloak's PEM body)."""
    names = {row["id"]: f"{row['name']} ({row['provider_id']})" for row in _copy_rows(dump, "component")}
    found = []
    for row in _copy_rows(dump, "component_config"):
        if row["name"] != "privateKey":
            continue
        try:
            der = base64.b64decode(row["value"])
            found.append((names.get(row["component_id"], row["component_id"]), needles(row["id"], der)))
        except (binascii.Error, ValueError):
            continue
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
