"""`idpkit local up --signing kms`: the realm's signing keys in a KMS emulation, Keycloak signing through it.

Three pieces, each idempotent: the KMS emulation (`kms_emulation`, moto on loopback corrected to AWS's
semantics) as a server of the stack; the kit's extension jar (built from `keycloak-kms/`) in Keycloak's
`providers/`, which makes `kc.sh build` run again when it changes; and the emulation's (dummy)
credentials in Keycloak's environment. `--signing imported` (the default) stops the emulation; the jar
stays, since it also serves the SMART discovery document every stack needs. The emulation keeps keys in
memory: restarting it loses them, and Keycloak then refuses to sign with those keys (fail closed) until
`idpkit keys rotate` or `emergency-rotate` makes new ones.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import requests

from idpkit.errors import IdpkitError
from idpkit.keycloak_server import kms_provider
from idpkit.keycloak_server.kms_provider import SigningChoice
from idpkit.local.kms_emulation import EMULATION_CREDENTIALS, EMULATION_REGION
from idpkit.local.layout import LOOPBACK, LocalLayout
from idpkit.system.files import make_directory

PROCESS = "kms"
START_TIMEOUT = 60.0
PROBE_TIMEOUT = 2.0


def ensure_emulation(layout: LocalLayout, signing: SigningChoice) -> bool:
    """The emulation running (kms) or stopped (imported); True if that changed anything."""
    process = layout.process(PROCESS)
    if signing != "kms":
        return process.stop()
    if process.pid() is not None:
        return False
    process.start(
        [sys.executable, "-m", "idpkit.local.kms_emulation", "--host", LOOPBACK, "--port", str(layout.ports.kms)],
        env={"PATH": "/usr/bin:/bin"},
        cwd=layout.run,
        account=None,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while probe(layout) is not None:
        if process.exited_early():
            raise IdpkitError(f"the KMS emulation exited during start-up; see {process.log_file}")
        if time.monotonic() > deadline:
            raise IdpkitError(f"the KMS emulation did not answer within {START_TIMEOUT:.0f} s; see {process.log_file}")
        time.sleep(0.3)
    return True


def ensure_provider(layout: LocalLayout) -> str:
    """Install the kit's extension jar (KMS signing, SMART discovery); returns what `kc.sh build` was made with."""
    installed = layout.keycloak_home / "providers" / kms_provider.JAR_NAME
    built = kms_provider.build()
    make_directory(installed.parent, 0o755)
    if not installed.exists() or kms_provider.sha256_of(installed) != built.sha256:
        staging = installed.with_name(f".{installed.name}.tmp")
        staging.write_bytes(built.jar.read_bytes())
        staging.chmod(0o644)
        staging.replace(installed)
    return f"kms provider {built.sha256}"


def keycloak_environment(signing: SigningChoice) -> dict[str, str]:
    """What the provider needs to reach the emulation: its dummy credentials (never real ones)."""
    if signing != "kms":
        return {}
    return {**EMULATION_CREDENTIALS, "AWS_REGION": EMULATION_REGION}


@dataclass(frozen=True)
class KmsHealth:
    endpoint: str
    reachable: bool
    reason: str | None


def probe(layout: LocalLayout) -> str | None:
    """None when the emulation answers a KMS request; otherwise why not."""
    try:
        response = requests.post(
            layout.kms_endpoint,
            headers={"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"},
            data="{}",
            timeout=PROBE_TIMEOUT,
        )
    except requests.Timeout:
        return f"KMS at {layout.kms_endpoint} does not answer within {PROBE_TIMEOUT:.0f} s"
    except requests.RequestException as error:
        return f"KMS at {layout.kms_endpoint} is unreachable ({type(error).__name__})"
    if response.status_code != 200:
        return f"KMS at {layout.kms_endpoint} answers HTTP {response.status_code}"
    return None


def health(layout: LocalLayout, signing: SigningChoice | None) -> KmsHealth | None:
    """For `status`: whether Keycloak can reach KMS to sign (None when the stack does not sign with KMS)."""
    if signing != "kms":
        return None
    reason = probe(layout)
    if reason is not None:
        reason += ": Keycloak cannot sign tokens with KMS keys (token requests fail closed)"
    return KmsHealth(layout.kms_endpoint, reason is None, reason)
