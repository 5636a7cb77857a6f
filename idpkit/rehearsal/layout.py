"""Where one stack's rehearsal keeps its state, and its fixed ports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from signal import SIGINT

from idpkit import paths
from idpkit.host.layout import HostLayout
from idpkit.local.pki import LocalPki
from idpkit.system.process import ManagedProcess

AWS_EMULATION_PORT = 4566
KMS_ENDPOINT_PORT = 4566
"""Each host's loopback port forwarded to the emulation: the KMS endpoint Keycloak's component names (the
provider accepts plain HTTP on loopback only; on AWS it is the regional endpoint, through the VPC's)."""


@dataclass(frozen=True)
class RehearsalLayout:
    stack: str

    @property
    def root(self) -> Path:
        return paths.state_root() / "rehearsals" / self.stack

    @property
    def pki(self) -> LocalPki:
        """Server CA (front door, database) and the client CA with its CRL (the ALB trust store)."""
        return LocalPki(self.root / "pki")

    @property
    def host_tls(self) -> Path:
        """The stack's host certificate and key (CN/SAN localhost), as docs/aws.md has operators create."""
        return self.root / "host-tls"

    @property
    def clients(self) -> Path:
        """Client certificates issued from the client CA (the smoke suite's smoke-mtls)."""
        return self.root / "clients"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def front_door(self) -> Path:
        return self.root / "front-door"

    @property
    def database(self) -> Path:
        return self.root / "postgres"

    @property
    def outputs_file(self) -> Path:
        """The stack outputs contract of the rehearsal (`IDPKIT_OUTPUTS_FILE` of operator commands)."""
        return self.root / "outputs.json"

    @property
    def binding_file(self) -> Path:
        """The emulation's endpoint and identifiers bound to the graph's (no secret values)."""
        return self.root / "binding.json"

    @property
    def report(self) -> Path:
        return self.root / "rehearsal.json"

    @property
    def chaos_results(self) -> Path:
        """The short fault scenarios' results when the rehearsal ran them (`--chaos short`)."""
        return self.root / "chaos-short.json"

    @property
    def kms_private_keys(self) -> Path:
        """The AWS emulation's export of every KMS signing key it creates: what the key material search looks for."""
        return self.root / "kms-private-keys"

    def host(self, index: int) -> HostLayout:
        return HostLayout(self.root / "hosts" / f"host-{index}")

    def process(self, name: str) -> ManagedProcess:
        return ManagedProcess(name, self.run / f"{name}.pid", self.logs / f"{name}.log")

    def database_process(self) -> ManagedProcess:
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for Keycloak's pooled connections.
        return ManagedProcess("postgres", self.run / "postgres.pid", self.logs / "postgres.log", stop_signal=SIGINT)
