"""The key store: generated key material plus the rotation state, one JSON document per realm.

Locally it is a 0600 file per realm in the stack's secrets directory; on AWS one Secrets Manager
secret per stack (encrypted with the signing-material KMS key, readable only by the rotation role),
holding every realm's document. Both are reached through the same `KeyStore` interface, so the
rotation code is the same path everywhere. The store, not Keycloak, is the source of truth for key
material: a rebuilt cluster gets the same keys (and `kid`s) back from it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from idpkit.errors import ExitCode, IdpkitError
from idpkit.keys.material import KeyMaterial
from idpkit.local.layout import LocalLayout
from idpkit.outputs import LOCAL_STACK, SECRETS_MANAGER_ARN_PREFIX
from idpkit.system.files import make_directory, write_private

FORMAT_VERSION = 1
HISTORY_LIMIT = 20
"""Finished rotations kept in the document (a secret is limited to 64 KiB)."""
ROTATION_SESSION_NAME = "idpkit-keys-rotation"
"""The session name CloudTrail records for every use of the rotation role."""

# Key lifecycle; the private key is dropped from the store at `removed` and `compromised` (a KMS key's
# private key is never in the store: its record holds the key's ARN).
PENDING, ACTIVE, PASSIVE, DISABLED, REMOVED, COMPROMISED = (
    "pending", "active", "passive", "disabled", "removed", "compromised",
)  # fmt: skip


@dataclass
class KeyRecord:
    """One kit-generated key and where it is in its life."""

    generation: int
    name: str
    """Name of its Keycloak component (`idpkit-<alg>-g<generation>`): how a resumed stage finds it."""
    algorithm: str
    status: str
    created_at: float
    fingerprint: str
    material: KeyMaterial | None
    priority: int = 0
    kid: str | None = None
    component_id: str | None = None
    kms_key_arn: str | None = None
    """Set for a key that lives in KMS (`--signing kms`): `material` is then always None."""

    def public_view(self) -> dict[str, Any]:
        """Everything but the key material: what status output and logs may show."""
        return {name: value for name, value in asdict(self).items() if name != "material"}


@dataclass
class Predecessor:
    """A key a rotation replaces: kit-made (`generation` set) or foreign (Keycloak-generated, imported by hand)."""

    component_id: str
    name: str
    kid: str
    generation: int | None = None

    @property
    def managed(self) -> bool:
        return self.generation is not None


@dataclass
class Rotation:
    """The current (or last) rotation; `stage` is the last stage completed."""

    kind: str
    """`scheduled` or `emergency`."""
    generation: int
    """The generation of the key this rotation brings in."""
    stage: str
    started_at: float
    published_at: float | None = None
    """When the new key appeared in JWKS; it may sign from `published_at + margin`."""
    predecessors: list[Predecessor] | None = None
    """Recorded before the first predecessor changes, so a resumed stage acts on the same keys."""
    passive_since: float | None = None
    window_seconds: int | None = None
    """The window computed at demotion; retire takes the larger of it and a freshly computed one."""
    finished_at: float | None = None
    blast_radius: dict[str, int] | None = None


@dataclass
class RealmKeys:
    """Everything the kit knows about one realm's signing keys."""

    realm: str
    keys: list[KeyRecord] = field(default_factory=list)
    rotation: Rotation | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def key(self, generation: int) -> KeyRecord:
        for record in self.keys:
            if record.generation == generation:
                return record
        raise IdpkitError(f"key store for realm {self.realm}: generation {generation} is missing")

    @property
    def next_generation(self) -> int:
        return max((record.generation for record in self.keys), default=0) + 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RealmKeys:
        keys = [
            KeyRecord(**{**item, "material": KeyMaterial(**item["material"]) if item.get("material") else None})
            for item in data.get("keys", [])
        ]
        rotation = None
        if raw := data.get("rotation"):
            predecessors = raw.get("predecessors")
            rotation = Rotation(**{
                **raw,
                "predecessors": [Predecessor(**p) for p in predecessors] if predecessors is not None else None,
            })  # fmt: skip
        return cls(data["realm"], keys, rotation, list(data.get("history", [])))


class KeyStore(Protocol):
    location: str
    """Where the store is (a path or an ARN), for messages; never its content."""

    def load(self, realm: str) -> RealmKeys: ...

    def save(self, state: RealmKeys) -> None: ...

    def lock(self) -> Any:
        """A context manager held for a whole command, so two runs never interleave stages."""
        ...


class LocalKeyStore:
    """A directory (0700) of `<realm>.json` files (0600), standing in for Secrets Manager."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.location = str(directory)

    def file(self, realm: str) -> Path:
        return self.directory / f"{realm}.json"

    def load(self, realm: str) -> RealmKeys:
        source = self.file(realm)
        if not source.exists():
            return RealmKeys(realm)
        return _parse(source.read_text(), realm, self.location)

    def save(self, state: RealmKeys) -> None:
        make_directory(self.directory, 0o700)
        write_private(self.file(state.realm), _document(state))

    @contextmanager
    def lock(self) -> Iterator[None]:
        make_directory(self.directory, 0o700)
        descriptor = os.open(self.directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise IdpkitError(
                    f"key store {self.location} is in use by another idpkit keys command",
                    hint="wait for it to finish, then re-run (every stage resumes)",
                ) from error
            yield
        finally:
            os.close(descriptor)

    def delete(self, realm: str) -> None:
        self.file(realm).unlink(missing_ok=True)


class SecretsManagerKeyStore:
    """One secret per stack holding `{"version": 1, "realms": {realm: document}}`.

    The secret is encrypted with the signing-material KMS key, so every read is a `kms:Decrypt` that
    CloudTrail records against the rotation role's session. A save refuses to overwrite a version it
    did not read (two hosts racing), and the caller re-runs the idempotent stage.
    """

    def __init__(self, secret_arn: str, client: Any) -> None:
        self.secret_arn = secret_arn
        self.location = secret_arn
        self.client = client
        self._version: str | None = None

    def load(self, realm: str) -> RealmKeys:
        document = self._read()
        data = document.get("realms", {}).get(realm)
        return RealmKeys.from_dict(data) if data else RealmKeys(realm)

    def save(self, state: RealmKeys) -> None:
        loaded_version = self._version
        document = self._read()
        if self._version != loaded_version:
            raise IdpkitError(
                f"key store {self.secret_arn} changed while this command ran",
                hint="re-run the command: every stage resumes from the stored state",
            )
        document.setdefault("realms", {})[state.realm] = state.to_dict()
        document["version"] = FORMAT_VERSION
        try:
            response = self.client.put_secret_value(SecretId=self.secret_arn, SecretString=json.dumps(document))
        except Exception as error:  # botocore raises many types; the message is what the user needs
            raise IdpkitError(f"key store {self.secret_arn}: cannot be written ({_aws_message(error)})") from error
        self._version = response["VersionId"]

    def lock(self) -> Any:
        return _no_lock()

    def _read(self) -> dict[str, Any]:
        try:
            response = self.client.get_secret_value(SecretId=self.secret_arn)
        except Exception as error:
            if _aws_code(error) == "ResourceNotFoundException" and self._secret_exists():
                self._version = None
                return {"version": FORMAT_VERSION, "realms": {}}  # created by Pulumi, never written yet
            raise IdpkitError(f"key store {self.secret_arn}: cannot be read ({_aws_message(error)})") from error
        self._version = response["VersionId"]
        loaded: dict[str, Any] = json.loads(response["SecretString"])
        if loaded.get("version") != FORMAT_VERSION:
            raise IdpkitError(f"key store {self.secret_arn}: unknown format version {loaded.get('version')!r}")
        return loaded

    def _secret_exists(self) -> bool:
        try:
            self.client.describe_secret(SecretId=self.secret_arn)
        except Exception:  # any failure means we cannot tell; the read error is what gets reported
            return False
        return True


def open_store(spec: str | None, stack: str, *, role_arn: str | None = None) -> KeyStore:
    """The key store `spec` names (a directory or a Secrets Manager ARN); the local stack's by default."""
    if spec and spec.startswith(SECRETS_MANAGER_ARN_PREFIX):
        return SecretsManagerKeyStore(spec, _secrets_manager_client(spec, role_arn))
    if role_arn:
        raise IdpkitError("--assume-role applies to a Secrets Manager key store only", exit_code=ExitCode.USAGE)
    if spec:
        return LocalKeyStore(Path(spec))
    if stack == LOCAL_STACK:
        return LocalKeyStore(LocalLayout.for_stack(stack).secrets / "signing-keys")
    raise IdpkitError(
        f"stack {stack!r}: no key store given",
        exit_code=ExitCode.USAGE,
        hint="pass --key-store <the stack output signing_keys_secret_arn> (or set IDPKIT_KEY_STORE)",
    )


def _secrets_manager_client(arn: str, role_arn: str | None) -> Any:
    import boto3  # noqa: PLC0415 - only AWS stacks need it, and it is slow to import

    region = arn.split(":")[3]
    return boto3.client("secretsmanager", region_name=region, **rotation_credentials(region, role_arn))


def rotation_credentials(region: str, role_arn: str | None) -> dict[str, str]:
    """boto3 client arguments acting as the rotation role (empty: the caller's own credentials)."""
    if role_arn is None:
        return {}
    import boto3  # noqa: PLC0415

    try:
        credentials = boto3.client("sts", region_name=region).assume_role(
            RoleArn=role_arn, RoleSessionName=ROTATION_SESSION_NAME
        )["Credentials"]
    except Exception as error:
        raise IdpkitError(f"cannot assume the rotation role {role_arn} ({_aws_message(error)})") from error
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


@contextmanager
def _no_lock() -> Iterator[None]:
    # Schedules run one host at a time (SSM MaxConcurrency 1); a racing save is caught by the version check.
    yield


def _parse(text: str, realm: str, location: str) -> RealmKeys:
    data = json.loads(text)
    if data.get("version") != FORMAT_VERSION:
        raise IdpkitError(f"key store {location}: unknown format version {data.get('version')!r}")
    return RealmKeys.from_dict(data["realms"][realm])


def _document(state: RealmKeys) -> str:
    return json.dumps({"version": FORMAT_VERSION, "realms": {state.realm: state.to_dict()}}, indent=2) + "\n"


def _aws_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _aws_message(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
