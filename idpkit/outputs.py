"""The stack outputs contract: the one interface between a stack (local or AWS) and every command.

`idpkit outputs --stack NAME --json` prints these keys; the local stack writes them to its state
directory, AWS stacks export them from the Pulumi program (`pulumi stack output --json`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from idpkit import paths
from idpkit.errors import ExitCode, IdpkitError

LOCAL_STACK = "local"
OUTPUTS_FILE = "outputs.json"
SECRETS_MANAGER_ARN_PREFIX = "arn:aws:secretsmanager:"


@dataclass(frozen=True)
class StackOutputs:
    """What every command needs to reach a stack."""

    base_url: str
    """Keycloak root URL through the browser-facing listener."""
    m2m_url: str
    """Keycloak root URL through the machine-to-machine (mutual TLS) listener."""
    admin_url: str
    """Keycloak root URL for the admin API and console; never the public listener."""
    realm: str
    """Name of the hardened realm."""
    issuer: str
    """The realm's issuer (`iss`), as tokens and discovery carry it."""
    ca_bundle: str | None
    """PEM file that verifies the server certificates; `None` means the system trust store."""
    admin_credentials: str
    """Path of a 0600 JSON file, or a Secrets Manager ARN, holding the kit's admin credentials."""
    admin_ca_bundle: str | None = None
    """PEM file that verifies `admin_url` when it differs from `ca_bundle` (AWS: the hosts' own certificate
    behind the SSM port forward); `None`: `ca_bundle` verifies it too."""
    bootstrap_admin_credentials: str | None = None
    """Keycloak's bootstrap admin (a 0600 file, or on AWS a secret's ARN): the only administrator of the master
    realm, kept as the break-glass account. Until the first `realm apply` writes the kit's service account into
    `admin_credentials` (created empty on AWS), commands log in with this one."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def tls_verify(self) -> str | bool:
        """The `verify` argument for requests/python-keycloak on the public URLs."""
        return self.ca_bundle if self.ca_bundle else True

    @property
    def admin_tls_verify(self) -> str | bool:
        """The `verify` argument for calls to `admin_url`."""
        return self.admin_ca_bundle if self.admin_ca_bundle else self.tls_verify


@dataclass(frozen=True)
class AdminCredentials:
    """An admin login in `master`: the kit's service account (a private key it signs its client assertions with;
    a client secret before the kit moved to private_key_jwt), or the bootstrap admin's user name and password."""

    client_id: str | None = None
    client_secret: str | None = None
    username: str | None = None
    password: str | None = None
    private_key: str | None = None
    """PEM (PKCS#8) of the key whose public half the service account's client registers (`jwks.string`)."""
    key_id: str | None = None

    @property
    def is_service_account(self) -> bool:
        return self.client_id is not None and (self.client_secret is not None or self.private_key is not None)

    @property
    def signs_assertions(self) -> bool:
        """The service account authenticates with private_key_jwt (the least-privileged kit admin)."""
        return self.client_id is not None and self.private_key is not None

    def __repr__(self) -> str:  # never leak secrets through logs or tracebacks
        who = self.client_id if self.is_service_account else self.username
        return f"AdminCredentials({who!r}, secret=***)"


REQUIRED_KEYS = ("base_url", "m2m_url", "admin_url", "realm", "issuer", "ca_bundle", "admin_credentials")
OPTIONAL_KEYS = ("admin_ca_bundle", "bootstrap_admin_credentials")
# AWS stacks export the admin tunnel's trust anchor as PEM text; the kit keeps it as a file.
ADMIN_CA_CERTIFICATE_OUTPUT = "admin_ca_certificate"


# A file with the outputs of the stack this machine belongs to (an AWS host has no Pulumi CLI; its user data
# writes the host's view of the contract there, e.g. admin_url on its own loopback listener).
OUTPUTS_FILE_ENV = "IDPKIT_OUTPUTS_FILE"


def load_outputs(stack: str) -> StackOutputs:
    """The outputs of `stack`: `$IDPKIT_OUTPUTS_FILE`, the local stack's file, or `pulumi stack output`."""
    if override := os.environ.get(OUTPUTS_FILE_ENV):
        raw = _read_outputs_file(Path(override), stack)
    elif stack == LOCAL_STACK:
        raw = _local_outputs()
    else:
        raw = _pulumi_outputs(stack)
    _check_contract(raw, stack)
    admin_ca_bundle = raw.get("admin_ca_bundle")
    if pem := raw.get(ADMIN_CA_CERTIFICATE_OUTPUT):
        target = paths.stack_dir(stack) / "admin-ca.pem"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(pem)
        admin_ca_bundle = str(target)
    return StackOutputs(
        **{name: raw[name] for name in REQUIRED_KEYS},
        admin_ca_bundle=admin_ca_bundle,
        bootstrap_admin_credentials=raw.get("bootstrap_admin_credentials"),
    )


def write_local_outputs(outputs: StackOutputs) -> None:
    target = paths.stack_dir(LOCAL_STACK) / OUTPUTS_FILE
    target.write_text(json.dumps(outputs.to_dict(), indent=2) + "\n")


URL_KEYS = ("base_url", "m2m_url", "admin_url", "issuer")
_REALM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _check_contract(raw: object, stack: str) -> None:
    """Refuse outputs every command would trip over later: each key present with the type and shape it needs,
    the issuer the realm's own (what tokens and discovery must carry)."""
    where = f"stack {stack!r}: outputs"
    if not isinstance(raw, dict):
        raise IdpkitError(f"{where} must be a JSON object, not {type(raw).__name__}")
    if missing := [name for name in REQUIRED_KEYS if name not in raw]:
        raise IdpkitError(f"{where} lack {', '.join(missing)}")
    optional = {"ca_bundle", *OPTIONAL_KEYS}
    for name in (*REQUIRED_KEYS, *OPTIONAL_KEYS):
        value = raw.get(name)
        if not (isinstance(value, str) and value) and not (value is None and name in optional):
            raise IdpkitError(f"{where}: {name} must be a non-empty string, not {value!r}")
    for name in URL_KEYS:
        parts = urlsplit(raw[name])
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise IdpkitError(f"{where}: {name} must be an https URL without query or fragment, not {raw[name]!r}")
    if not _REALM_NAME.fullmatch(raw["realm"]):
        raise IdpkitError(f"{where}: realm {raw['realm']!r} is not a realm name")
    expected = f"{raw['base_url'].rstrip('/')}/realms/{raw['realm']}"
    if raw["issuer"] != expected:
        raise IdpkitError(f"{where}: issuer {raw['issuer']!r} is not the realm's issuer at base_url ({expected!r})")


def load_admin_credentials(outputs: StackOutputs) -> AdminCredentials:
    source = outputs.admin_credentials
    if source.startswith(SECRETS_MANAGER_ARN_PREFIX):
        found = _secrets_manager_json(source)
        if found is None and outputs.bootstrap_admin_credentials:
            # Before the first `realm apply` the kit's own secret is still empty: the bootstrap admin logs in.
            source = outputs.bootstrap_admin_credentials
            found = _secrets_manager_json(source)
        if found is None:
            raise IdpkitError(f"admin credentials {source}: the secret holds no value yet")
        data = found
    else:
        data = _file_json(source)
    return _credentials(data, source)


def load_break_glass_credentials(outputs: StackOutputs) -> AdminCredentials:
    """The bootstrap admin's user name and password: the one login that may administer the master realm."""
    source = outputs.bootstrap_admin_credentials
    if not source:
        raise IdpkitError(
            "the stack's outputs name no bootstrap_admin_credentials: the master realm cannot be administered",
            hint="see runbooks/break-glass-admin-access.md",
        )
    data = _secrets_manager_json(source) if source.startswith(SECRETS_MANAGER_ARN_PREFIX) else _file_json(source)
    if data is None:
        raise IdpkitError(f"break-glass credentials {source}: the secret holds no value")
    credentials = _credentials(data, source)
    if credentials.is_service_account:
        raise IdpkitError(f"break-glass credentials {source}: must be a user name and password, not a client")
    return credentials


def _file_json(source: str) -> Any:
    try:
        return json.loads(Path(source).read_text())
    except (OSError, ValueError) as error:
        raise IdpkitError(f"admin credentials {source}: cannot be read ({error})") from error


_CREDENTIAL_FIELDS = ("client_id", "client_secret", "username", "password", "private_key", "key_id")


def _credentials(data: Any, source: str) -> AdminCredentials:
    if not isinstance(data, dict):
        raise IdpkitError(f"admin credentials {source}: must be a JSON object, not {type(data).__name__}")
    fields = {key: data.get(key) for key in _CREDENTIAL_FIELDS}
    if not all(value is None or (isinstance(value, str) and value) for value in fields.values()):
        raise IdpkitError(f"admin credentials {source}: {', '.join(_CREDENTIAL_FIELDS)} are non-empty strings")
    credentials = AdminCredentials(**fields)
    if not credentials.is_service_account and not (credentials.username and credentials.password):
        raise IdpkitError(
            f"admin credentials {source}: need client_id with private_key (or client_secret), or username+password"
        )
    return credentials


def _local_outputs() -> Any:
    source = paths.stack_dir(LOCAL_STACK) / OUTPUTS_FILE
    if not source.exists():
        raise IdpkitError(
            "the local stack has not been brought up on this machine",
            hint="run `idpkit local up` first",
            exit_code=ExitCode.NOT_RUNNING,
        )
    return _json(source.read_text(), f"{source} (the local stack's outputs)")


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise IdpkitError(f"{source}: cannot be read as JSON ({error})") from error


def _read_outputs_file(source: Path, stack: str) -> Any:
    try:
        text = source.read_text()
    except OSError as error:
        raise IdpkitError(f"{OUTPUTS_FILE_ENV}={source}: cannot be read ({error.strerror})") from error
    loaded = _json(text, f"{OUTPUTS_FILE_ENV}={source}")
    if isinstance(loaded, dict) and loaded.get("stack", stack) != stack:
        raise IdpkitError(f"{source} holds the outputs of stack {loaded['stack']!r}, not {stack!r}")
    return loaded


def _pulumi_outputs(stack: str) -> Any:
    if shutil.which("pulumi") is None:
        raise IdpkitError(
            f"stack {stack!r} is an AWS stack and needs the Pulumi CLI, which is not on PATH",
            hint="install it from https://www.pulumi.com/docs/install/ and log in to your state backend",
        )
    completed = subprocess.run(
        ["pulumi", "stack", "output", "--json", "--stack", stack],
        cwd=paths.project_root(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise IdpkitError(f"pulumi stack output --stack {stack} failed: {completed.stderr.strip()}")
    return _json(completed.stdout, f"the outputs of `pulumi stack output --stack {stack}`")


def _secrets_manager_json(arn: str) -> dict[str, Any] | None:
    """The secret's JSON value; `None` while it has none (created empty, not yet written)."""
    import boto3  # noqa: PLC0415 - only AWS stacks need it, and it is slow to import

    region = arn.split(":")[3]
    client = boto3.client("secretsmanager", region_name=region)
    try:
        value = client.get_secret_value(SecretId=arn)["SecretString"]
    except Exception as error:  # botocore raises many types; the message is what the user needs
        if getattr(error, "response", {}).get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise IdpkitError(f"admin credentials {arn}: cannot be read ({error})") from error
    loaded: dict[str, Any] | None = _json(value, f"admin credentials {arn}")
    return loaded
