"""Which spellings of the token, PAR and login-action paths Keycloak actually serves, measured on the real server.

The WAF's rate rule and its form exemption match the URI path that reaches the load balancer, but what counts
is what Keycloak behind it does with that path: a spelling Keycloak serves as the token endpoint and the rule
does not match is a bypass. This module builds every variant of each endpoint path from a catalogue of
spellings (trailing slashes, `;` parameters, doubled slashes, percent-encoding, case, dot segments,
backslashes), sends each to Keycloak's own HTTPS port (the local stack's `admin_url`: no nginx, no HAProxy,
nothing that would normalise the path first) and records what Keycloak answered. A variant is *served* when
the answer is the canonical path's answer (same status, content type and error), otherwise *refused*.

The measured list is committed next to this file (`waf_path_variants.json`): `test_waf_path_variants.py`
checks the WAF rules against it offline, and re-measures it on the local stack to notice a Keycloak upgrade
that changes the list. Re-record it after an upgrade:

    IDPKIT_STATE_DIR=... venv/bin/python tests/aws/waf_variants.py --write
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import ssl
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

MEASURED_FILE = Path(__file__).with_name("waf_path_variants.json")
PROBE_CLIENT = "idpkit-waf-path-probe"
"""A client id that does not exist: every probe is refused by client authentication, so nothing changes."""


@dataclass(frozen=True)
class Endpoint:
    """One Keycloak endpoint whose path variants are measured, and a request it answers without side effects."""

    name: str
    suffix: str
    """Path after `/realms/<realm>/`."""
    method: str
    body: str = ""


ENDPOINTS = (
    Endpoint(
        "token",
        "protocol/openid-connect/token",
        "POST",
        f"grant_type=client_credentials&client_id={PROBE_CLIENT}&client_secret=not-a-secret",
    ),
    Endpoint("par", "protocol/openid-connect/ext/par/request", "POST", f"client_id={PROBE_CLIENT}&response_type=code"),
    Endpoint("login-actions", "login-actions/authenticate", "GET"),
    Endpoint("login-actions", "login-actions/reset-credentials", "GET"),
)


def _encode(character: str, upper: bool = True) -> str:
    code = f"{ord(character):02X}"
    return f"%{code if upper else code.lower()}"


def _split(path: str) -> tuple[str, str]:
    head, _, last = path.rpartition("/")
    return head, last


# Each spelling turns the canonical path into one variant; the names say what changed.
SPELLINGS: dict[str, Callable[[str], str]] = {
    "canonical": lambda p: p,
    "trailing slash": lambda p: p + "/",
    "two trailing slashes": lambda p: p + "//",
    "trailing self reference": lambda p: p + "/.",
    "trailing dot": lambda p: p + ".",
    "matrix parameter on the last segment": lambda p: p + ";x=1",
    "matrix parameter on the first segment": lambda p: p.replace("/realms/", "/realms;x=1/", 1),
    "encoded semicolon": lambda p: p + "%3Bx=1",
    "leading double slash": lambda p: "/" + p,
    "double slash before the last segment": lambda p: "//".join(_split(p)),
    "self reference before the last segment": lambda p: "/./".join(_split(p)),
    "back reference before the last segment": lambda p: "/x/../".join(_split(p)),
    "encoded self reference": lambda p: "/%2e/".join(_split(p)),
    "encoded back reference": lambda p: "/x/%2e%2e/".join(_split(p)),
    "mixed back reference": lambda p: "/x/.%2E/".join(_split(p)),
    "encoded letter (upper-case hex)": lambda p: "/".join((_split(p)[0], _encode(_split(p)[1][0]) + _split(p)[1][1:])),
    "encoded letter (lower-case hex)": lambda p: "/".join(
        (_split(p)[0], _encode(_split(p)[1][0], upper=False) + _split(p)[1][1:])
    ),
    "last segment fully encoded": lambda p: "/".join((_split(p)[0], "".join(_encode(c) for c in _split(p)[1]))),
    "double-encoded letter": lambda p: "/".join(
        (_split(p)[0], "%25" + _encode(_split(p)[1][0])[1:] + _split(p)[1][1:])
    ),
    "encoded slash before the last segment": lambda p: "%2F".join(_split(p)),
    "encoded slash (lower-case hex)": lambda p: "%2f".join(_split(p)),
    "double-encoded slash": lambda p: "%252F".join(_split(p)),
    "encoded trailing slash": lambda p: p + "%2F",
    "backslash before the last segment": lambda p: "\\".join(_split(p)),
    "encoded backslash before the last segment": lambda p: "%5C".join(_split(p)),
    "upper-case last segment": lambda p: "/".join((_split(p)[0], _split(p)[1].upper())),
    "capitalised last segment": lambda p: "/".join((_split(p)[0], _split(p)[1].capitalize())),
    "upper-case first segment": lambda p: p.replace("/realms/", "/REALMS/", 1),
    "upper-case realm name": lambda p: re.sub(r"^/realms/([^/]+)/", lambda m: f"/realms/{m[1].upper()}/", p),
    "trailing encoded NUL": lambda p: p + "%00",
    "trailing encoded space": lambda p: p + "%20",
}


@dataclass(frozen=True)
class Answer:
    status: int
    signature: str
    """Status, content type and the error Keycloak gave (JSON `error`, or the login page's instruction)."""


@dataclass(frozen=True)
class Variant:
    endpoint: str
    canonical: str
    spelling: str
    path: str
    status: int
    served: bool
    answer: str


def send(base: str, path: str, endpoint: Endpoint, ca_bundle: str | None, timeout: float = 10) -> Answer:
    """One request with `path` exactly as given on the request line (no client library normalises it)."""
    parts = urlsplit(base)
    host, port = parts.hostname or "localhost", parts.port or 443
    context = ssl.create_default_context(cafile=ca_bundle)
    head = f"{endpoint.method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
    body = endpoint.body.encode()
    if endpoint.method == "POST":
        head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(head.encode() + b"\r\n" + body)
        received = b""
        while chunk := tls.recv(65536):
            received += chunk
    return _answer(received.decode("utf-8", errors="replace"))


def _answer(response: str) -> Answer:
    head, _, body = response.partition("\r\n\r\n")
    status = int(head.split(" ", 2)[1])
    content_type = next(
        (
            line.split(":", 1)[1].strip().split(";")[0]
            for line in head.split("\r\n")
            if line.lower().startswith("content-type:")
        ),
        "",
    )
    error = re.search(r'"error"\s*:\s*"([^"]*)"', body)
    instruction = re.search(r'class="instruction">\s*([^<]*?)\s*<', body)
    detail = error[1] if error else instruction[1] if instruction else ""
    return Answer(status, f"{status} {content_type} {detail}".strip())


def measure(base: str, realm: str, ca_bundle: str | None) -> list[Variant]:
    """Every spelling of every endpoint, sent to Keycloak at `base`, classified against its canonical answer."""
    variants = []
    for endpoint in ENDPOINTS:
        canonical = f"/realms/{realm}/{endpoint.suffix}"
        reference = send(base, canonical, endpoint, ca_bundle)
        for spelling, make in SPELLINGS.items():
            path = make(canonical)
            answer = reference if path == canonical else send(base, path, endpoint, ca_bundle)
            served = answer.signature == reference.signature
            variants.append(Variant(endpoint.name, canonical, spelling, path, answer.status, served, answer.signature))
    return variants


def to_document(variants: list[Variant], keycloak_version: str, realm: str) -> dict[str, object]:
    return {
        "keycloak_version": keycloak_version,
        "realm": realm,
        "measured_at": "Keycloak's own HTTPS port (the local stack's admin_url), bypassing every proxy",
        "variants": [asdict(variant) for variant in variants],
    }


def load_measured() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(MEASURED_FILE.read_text())
    return loaded


def _main() -> int:
    from idpkit.keycloak_server import release  # noqa: PLC0415 - the script runs from a checkout
    from idpkit.outputs import load_outputs  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {MEASURED_FILE.name} (default: print)")
    arguments = parser.parse_args()
    outputs = load_outputs("local")
    variants = measure(outputs.admin_url, outputs.realm, outputs.admin_ca_bundle or outputs.ca_bundle)
    text = json.dumps(to_document(variants, release.VERSION, outputs.realm), indent=2) + "\n"
    if arguments.write:
        MEASURED_FILE.write_text(text)
    else:
        sys.stdout.write(text)
    served = [v for v in variants if v.served]
    sys.stderr.write(f"{len(variants)} variants, {len(served)} served: {sorted({v.spelling for v in served})}\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(_main())
