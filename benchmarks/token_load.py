"""Token endpoint throughput and latency on the local stack, per Keycloak vCPU, against Keycloak's sizing guidance.

Usage: python benchmarks/token_load.py [--stack local] [--workers 4] [--quick] [--results FILE]

Four scenarios, after a short pass through all of them (discarded: the JIT compiles), one after another,
each a warm-up (discarded) then a fixed measuring window, bounded
by time AND request count, on loopback through the front door (nginx and the host proxy, as a client
of the stack sees it):
- `bench` realm, client credentials, client_secret (the throwaway realm created here: `phi` forbids
  client secrets);
- `bench` realm, client credentials, private_key_jwt (PS256, RSA 3072, as the smoke clients use);
- `phi` realm, smoke-backend: client credentials, private_key_jwt, on the M2M listener with a client
  certificate from the stack's client CA (certificate-bound tokens) - the hardened path, events on;
- `bench` realm, refresh: each worker gets a refresh token by a direct (password) grant - allowed in
  the `bench` realm only - then refreshes, always with the newest token (rotation, as `phi` does).
Worker threads each keep one keep-alive session. Keycloak's CPU time (its JVM, from /proc/<pid>/stat)
over the window turns throughput into grants per Keycloak vCPU-second; the `bench` realm is deleted
at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import requests
from benchlib import Sample, Section, StackProcesses, Usage, arguments, percentile, save, stack_database
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, connect, urls
from idpkit.local.layout import LocalLayout
from idpkit.local.pki import issue_client_certificate
from idpkit.outputs import StackOutputs, load_admin_credentials, load_outputs
from idpkit.realm.bootstrap import create_delegated_realm
from idpkit.realm.secrets import load_smoke_credentials
from idpkit.smoke import oauth
from idpkit.smoke.certificates import registered_common_name

REALM = "bench"
SECRET_CLIENT, JWT_CLIENT, REFRESH_CLIENT, USER = "bench-secret", "bench-jwt", "bench-refresh", "bench-user"
PHI_CLIENT = "smoke-backend"
ALGORITHM, RSA_BITS = "PS256", 3072
GUIDANCE_PER_VCPU = 120
"""Keycloak's sizing guidance: about 120 client-credentials grants/s and 120 refreshes/s per vCPU."""
MAX_REQUESTS = 20_000
TIMEOUT = 10


@dataclass(frozen=True)
class Durations:
    warm_up: float
    measure: float


FULL, QUICK, JIT_PASS = Durations(5.0, 15.0), Durations(0.5, 1.5), Durations(0.0, 3.0)
"""--quick only proves every scenario gets its tokens (its figures are never published): no JIT pass."""


@dataclass
class Scenario:
    """One load: `request` sends a token request on a worker's session and returns whether a token came back."""

    label: str
    session: Callable[[], requests.Session]
    request: Callable[[requests.Session, dict[str, str]], bool]
    prepare: Callable[[requests.Session], dict[str, str]] = field(default=lambda _session: {})
    """Per-worker state set up before the clock starts (the refresh scenario's first refresh token).

    Every request passes `verify` itself: REQUESTS_CA_BUNDLE would override a session's."""


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--stack", default="local")
    parser.add_argument("--workers", type=int, choices=range(2, 9), default=4, metavar="2..8")
    args = parser.parse_args()
    durations = QUICK if args.quick else FULL
    outputs = load_outputs(args.stack)
    layout = LocalLayout.for_stack(args.stack)
    keycloak_pid, nginx_pid = layout.process("keycloak").pid(), layout.process("nginx").pid()
    if keycloak_pid is None or nginx_pid is None:
        raise SystemExit("the local stack is not running: `idpkit local up` first")
    processes = StackProcesses((keycloak_pid,), nginx_pid, stack_database(layout))
    cores = os.cpu_count() or 1
    section = Section(
        f"Token endpoint load ({args.workers} workers, {durations.warm_up:g} s warm-up, "
        f"{durations.measure:g} s window, {cores} cores, {processes.database})",
        ["scenario", "requests (errors)", "throughput", "p50 / p99", "Keycloak CPU", "per Keycloak vCPU",
         "per machine core", "vs guidance", "nginx + load generator CPU"],
    )  # fmt: skip
    section.note(f"machine load average (1 min) before the first scenario: {os.getloadavg()[0]:.2f}")
    master = AdminApi(connect(outputs, load_admin_credentials(outputs)), ADMIN_REALM)
    failed: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="token-load-"))
    try:
        scenarios = _scenarios(outputs, master, layout, work)
        # Without a first pass the JIT would still be compiling during the first scenario's window and favour
        # the later ones; the pass's figures are discarded.
        for scenario in [] if args.quick else scenarios:
            _run(scenario, args.workers, JIT_PASS, processes, cores)
        for scenario in scenarios:
            measured = _run(scenario, args.workers, durations, processes, cores)
            section.add(*measured.row)
            if measured.errors or not measured.requests:
                failed.append(scenario.label)
    finally:
        master.drop_realm(REALM)
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
    section.note(
        f"per Keycloak vCPU = successful grants / Keycloak's JVM CPU seconds in the window; guidance: "
        f"about {GUIDANCE_PER_VCPU} client-credentials grants/s and {GUIDANCE_PER_VCPU} refreshes/s per vCPU "
        "(Keycloak's sizing guide, measured on its own benchmark setup with a database server)"
    )
    section.note(
        "per machine core = throughput / nproc; Keycloak, nginx and the Python load generator share the same "
        "cores, so the generator's own CPU (assertion signing, TLS) is shown: it caps the machine-wide rate"
    )
    section.note(
        f"database: {processes.database}; `phi` records a CLIENT_LOGIN event per grant (database and "
        "jboss-logging), `bench` has events off; refresh tokens: direct grant in `bench` only, rotated on every refresh"
    )
    for label in failed:
        section.note(f"FAILED: {label}: a token request failed or none was made in the window")
    save([section], args.results)
    return 1 if failed else 0


@dataclass(frozen=True)
class Measured:
    requests: int
    errors: int
    row: list[str]


def _run(scenario: Scenario, workers: int, durations: Durations, processes: StackProcesses, cores: int) -> Measured:
    """One scenario's warm-up and window: its request and error counts, and its report row."""
    stop = threading.Event()
    samples: list[list[Sample]] = [[] for _ in range(workers)]

    def work(session: requests.Session, state: dict[str, str], mine: list[Sample]) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                ok = scenario.request(session, state)
            except (requests.RequestException, ValueError, KeyError):
                ok = False
            mine.append(Sample(started, time.monotonic() - started, ok))

    # Sessions and their state are made here, so a failing set-up stops the benchmark instead of a thread.
    sessions = [scenario.session() for _ in samples]
    threads = [
        threading.Thread(target=work, args=(session, scenario.prepare(session), mine), daemon=True)
        for session, mine in zip(sessions, samples, strict=True)
    ]
    for thread in threads:
        thread.start()
    time.sleep(durations.warm_up)
    start = Usage.now(processes)
    deadline = start.wall + durations.measure
    while time.monotonic() < deadline and _count_since(samples, start.wall) < MAX_REQUESTS:
        time.sleep(0.1)
    used = Usage.now(processes).since(start)
    stop.set()
    for thread in threads:
        thread.join(TIMEOUT + 1)
    end = start.wall + used.wall
    window = [s for mine in samples for s in mine if start.wall <= s.started and s.started + s.seconds <= end]
    ok = [s.seconds for s in window if s.ok]
    latencies = sorted(ok)
    rate = len(ok) / used.wall
    per_vcpu = len(ok) / used.keycloak if used.keycloak else 0.0
    return Measured(len(window), len(window) - len(ok), [
        scenario.label,
        f"{len(window)} ({len(window) - len(ok)})",
        f"{rate:.0f}/s",
        f"{percentile(latencies, 0.5) * 1000:.1f} / {percentile(latencies, 0.99) * 1000:.1f} ms",
        f"{used.keycloak / used.wall:.2f} cores",
        f"{per_vcpu:.0f}/s",
        f"{rate / cores:.0f}/s",
        f"{per_vcpu / GUIDANCE_PER_VCPU:.0%}",
        f"{used.nginx / used.wall:.2f} + {used.generator / used.wall:.2f} cores",
    ])  # fmt: skip


def _count_since(samples: list[list[Sample]], since: float) -> int:
    # Appends only ever add at the end, so counting from the back stops at the window's start.
    total = 0
    for mine in samples:
        for sample in reversed(mine):
            if sample.started < since:
                break
            total += 1
    return total


def _scenarios(outputs: StackOutputs, master: AdminApi, layout: LocalLayout, work: Path) -> list[Scenario]:
    verify = outputs.tls_verify
    secret, password = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    jwt_key = _create_realm(outputs, master, secret, password)
    bench = oauth.Endpoints.from_discovery(_discovery(f"{outputs.base_url}/realms/{REALM}", verify))
    phi = oauth.Endpoints.from_discovery(_discovery(outputs.issuer, verify))
    phi_key = oauth.ClientKey.from_credentials(load_smoke_credentials("local"), PHI_CLIENT)
    issued = issue_client_certificate(layout.pki, registered_common_name(), work)
    certificate = (str(issued[0]), str(issued[1]))

    def session(cert: tuple[str, str] | None = None) -> Callable[[], requests.Session]:
        def make() -> requests.Session:
            made = requests.Session()
            made.cert = cert
            return made

        return make

    def token(url: str, body: Callable[[], dict[str, str]]) -> Callable[[requests.Session, dict[str, str]], bool]:
        def send(http: requests.Session, _state: dict[str, str]) -> bool:
            form = {"grant_type": "client_credentials"} | body()
            response = http.post(url, data=form, verify=verify, timeout=TIMEOUT)
            return response.status_code == 200 and "access_token" in response.json()

        return send

    def login(http: requests.Session) -> dict[str, str]:
        form = {"grant_type": "password", "client_id": REFRESH_CLIENT, "client_secret": secret,
                "username": USER, "password": password, "scope": "openid"}  # fmt: skip
        response = http.post(bench.token, data=form, verify=verify, timeout=TIMEOUT)
        response.raise_for_status()
        return {"refresh_token": response.json()["refresh_token"]}

    def refresh(http: requests.Session, state: dict[str, str]) -> bool:
        form = {"grant_type": "refresh_token", "refresh_token": state["refresh_token"],
                "client_id": REFRESH_CLIENT, "client_secret": secret}  # fmt: skip
        response = http.post(bench.token, data=form, verify=verify, timeout=TIMEOUT)
        if response.status_code != 200:
            # A lost rotation (a timeout after Keycloak rotated) ends this token family: start another.
            state.update(login(http))
            return False
        state["refresh_token"] = response.json()["refresh_token"]
        return True

    _check_certificate_bound(phi, phi_key, certificate, verify)
    return [
        Scenario(f"`{REALM}` client credentials, client_secret", session(),
                 token(bench.token, lambda: {"client_id": SECRET_CLIENT, "client_secret": secret})),
        Scenario(f"`{REALM}` client credentials, private_key_jwt", session(),
                 token(bench.token, lambda: oauth.private_key_jwt(jwt_key, bench.issuer))),
        Scenario("`phi` smoke-backend: private_key_jwt + mTLS (M2M listener)", session(certificate),
                 token(phi.mtls_token, lambda: oauth.private_key_jwt(phi_key, phi.issuer))),
        Scenario(f"`{REALM}` refresh (rotated), client_secret", session(), refresh, login),
    ]  # fmt: skip


def _check_certificate_bound(
    endpoints: oauth.Endpoints, key: oauth.ClientKey, certificate: tuple[str, str], verify: str | bool
) -> None:
    """The hardened scenario must measure what smoke-tests prove: a token bound to the client certificate."""
    response = oauth.post_form(
        endpoints.mtls_token,
        {"grant_type": "client_credentials"} | oauth.private_key_jwt(key, endpoints.issuer),
        verify=verify,
        cert=certificate,
    )
    response.raise_for_status()
    if "x5t#S256" not in oauth.unverified_claims(response.json()["access_token"]).get("cnf", {}):
        raise SystemExit(f"{PHI_CLIENT}'s token is not certificate-bound: the phi realm is not as applied")


def _discovery(issuer: str, verify: str | bool) -> dict[str, object]:
    response = requests.get(f"{issuer}/.well-known/openid-configuration", verify=verify, timeout=TIMEOUT)
    response.raise_for_status()
    document: dict[str, object] = response.json()
    return document


def _create_realm(outputs: StackOutputs, master: AdminApi, secret: str, password: str) -> oauth.ClientKey:
    """The `bench` realm: like `phi` in token signing (PS256), without its client policies or events."""
    create_delegated_realm(outputs, {"realm": REALM, "enabled": True, "sslRequired": "all",
                                     "defaultSignatureAlgorithm": ALGORITHM, "revokeRefreshToken": True})  # fmt: skip
    bench = AdminApi(master.connection, REALM)
    clients = bench.path(urls.CLIENTS)
    master.post(clients, {"clientId": SECRET_CLIENT, "secret": secret, "publicClient": False,
                          "serviceAccountsEnabled": True, "standardFlowEnabled": False})  # fmt: skip
    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    kid = secrets.token_hex(8)
    public_jwk = json.loads(jwt.get_algorithm_by_name(ALGORITHM).to_jwk(private.public_key()))
    public_jwk |= {"kid": kid, "alg": ALGORITHM, "use": "sig"}
    master.post(clients, {
        "clientId": JWT_CLIENT, "publicClient": False, "clientAuthenticatorType": "client-jwt",
        "serviceAccountsEnabled": True, "standardFlowEnabled": False,
        "attributes": {"use.jwks.string": "true", "jwks.string": json.dumps({"keys": [public_jwk]}),
                       "token.endpoint.auth.signing.alg": ALGORITHM},
    })  # fmt: skip
    master.post(clients, {"clientId": REFRESH_CLIENT, "secret": secret, "publicClient": False,
                          "standardFlowEnabled": False, "directAccessGrantsEnabled": True})  # fmt: skip
    master.post(bench.path(urls.USERS), {
        "username": USER, "enabled": True, "email": f"{USER}@example.org", "emailVerified": True,
        "firstName": "Bench", "lastName": "User",
        "credentials": [{"type": "password", "value": password, "temporary": False}],
    })  # fmt: skip
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return oauth.ClientKey(JWT_CLIENT, pem, kid, ALGORITHM)


if __name__ == "__main__":
    sys.exit(main())
