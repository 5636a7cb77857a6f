"""`idpkit certs issue | revoke | init-ca`: client certificates for mutual TLS, and the CRL the front door checks.

On the local stack the client CA lives in the stack's PKI directory and the front door reloads the
CRL at once. AWS stacks keep the client CA offline (`--ca-dir`); these commands write the same
trust-store bundle and CRL files that the mTLS runbook uploads to S3 for the load balancer.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
from cryptography import x509

from idpkit.cli.options import json_option, stack_option
from idpkit.console import Reporter
from idpkit.errors import IdpkitError
from idpkit.local.layout import LocalLayout
from idpkit.local.pki import (
    LOCAL_CLIENT_CA,
    OFFLINE_CLIENT_CA,
    LocalPki,
    ensure_client_ca,
    issue_client_certificate,
    revoke_certificate,
)
from idpkit.outputs import LOCAL_STACK

_COMMON_NAME = re.compile(r"^CN=([A-Za-z0-9][A-Za-z0-9._-]{0,63})$")
ca_dir_option = click.option(
    "--ca-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of the offline client CA (required for AWS stacks; the local stack keeps its own).",
)


@click.group()
def certs() -> None:
    """Client certificates for the mutual-TLS (M2M) listener."""


@certs.command("init-ca")
@stack_option
@ca_dir_option
@json_option
def init_ca(stack: str, ca_dir: Path | None, json_mode: bool) -> None:
    """Create the client CA, its trust-store bundle and an empty CRL (no-op when they exist)."""
    pki = _client_pki(stack, ca_dir)
    created = ensure_client_ca(pki, LOCAL_CLIENT_CA if ca_dir is None else OFFLINE_CLIENT_CA)
    Reporter(json_mode=json_mode).result(
        {"created": created, "bundle": str(pki.client_ca_bundle), "crl": str(pki.crl)},
        lambda console: console.print(
            f"client CA {'created' if created else 'already present'}: bundle {pki.client_ca_bundle}, CRL {pki.crl}"
        ),
    )


@certs.command()
@stack_option
@click.option("--subject", required=True, help="Subject of the certificate: CN=NAME (letters, digits, . _ -).")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory."
)
@ca_dir_option
@json_option
def issue(stack: str, subject: str, out_dir: Path, ca_dir: Path | None, json_mode: bool) -> None:
    """Issue a client certificate signed by the client CA; the key is written 0600."""
    match = _COMMON_NAME.match(subject)
    if match is None:
        raise IdpkitError(f"--subject {subject!r}: expected CN=NAME with letters, digits, '.', '_' or '-'")
    pki = _client_pki(stack, ca_dir)
    if not pki.client_ca_key.exists():
        raise IdpkitError(f"no client CA in {pki.directory}", hint="run `idpkit certs init-ca` (or `idpkit local up`)")
    certificate, key = issue_client_certificate(pki, match.group(1), out_dir)
    subject_dn = x509.load_pem_x509_certificate(certificate.read_bytes()).subject.rfc4514_string()
    Reporter(json_mode=json_mode).result(
        {"cert": str(certificate), "key": str(key), "subject_dn": subject_dn},
        lambda console: console.print(f"certificate {certificate}\nkey         {key} (0600)\nsubject     {subject_dn}"),
    )


@certs.command()
@stack_option
@click.option("--cert", "certificate", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ca_dir_option
@json_option
def revoke(stack: str, certificate: Path, ca_dir: Path | None, json_mode: bool) -> None:
    """Put a client certificate on the CRL; the local front door reloads it at once."""
    pki = _client_pki(stack, ca_dir)
    try:
        serial, newly = revoke_certificate(pki, certificate)
    except ValueError as error:
        raise IdpkitError(str(error)) from error
    reloaded = stack == LOCAL_STACK and ca_dir is None and LocalLayout.for_stack().process("nginx").reload()
    Reporter(json_mode=json_mode).result(
        {"serial": f"{serial:X}", "newly_revoked": newly, "crl": str(pki.crl), "front_door_reloaded": reloaded},
        lambda console: console.print(
            f"serial {serial:X} {'revoked' if newly else 'was already revoked'}; CRL {pki.crl}"
            + (
                "; front door reloaded"
                if reloaded
                else "; upload the CRL to the trust store (runbooks/mtls-revoke-certificate.md)"
            )
        ),
    )


def _client_pki(stack: str, ca_dir: Path | None) -> LocalPki:
    if ca_dir is not None:
        return LocalPki(ca_dir)
    if stack != LOCAL_STACK:
        raise IdpkitError(f"stack {stack!r}: AWS stacks keep the client CA offline", hint="pass --ca-dir DIR")
    return LocalLayout.for_stack().pki
