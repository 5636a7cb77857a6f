"""Browser-less logins through the front door: logins/s, latency and Keycloak CPU per login, against Keycloak's sizing.

Usage: python benchmarks/login_load.py [--stack local] [--workers 4] [--users 400] [--quick] [--results FILE]
(full run: about 3 minutes on 2 cores, one of them measuring windows, the rest creating and deleting users, whose
passwords the realm hashes at import; --quick: about 30 s). `--stack staging` measures a kept rehearsal (two
nodes, `idpkit rehearse --stack staging --keep --up-only`, root): the realm is applied as an operator, and the
benchmark reruns itself from the rehearsal's edge namespace, as the rehearsal's clients reach it.

Every login is the authorization code flow with PKCE (S256) as a person's browser runs it, played by the smoke
suite's user agent (idpkit.smoke.oauth): push the authorization request (PAR), open it, post the login form (and
the one-time code form), follow the redirects to the client's redirect URI, redeem the code at the token endpoint.
Each login is a fresh browser (no cookies, new TLS connections). Scenarios, one after another, each a warm-up
(discarded) then a window bounded by time:
- `phi`, smoke-web (private_key_jwt): password + TOTP, the realm's real browser flow (MFA for every person), its
  password policy (argon2) and events. Keycloak refuses a code used before, so each user logs in at most once per
  TOTP period: the window ends early when every user has (`--users` raises the pool);
- the throwaway `bench-login` realm, a public PKCE client, its default browser flow (password only: the users have
  no second factor), once with `hashAlgorithm(argon2)` (Keycloak 26's default, and realm-config's) and once with
  `pbkdf2-sha512` (Keycloak's FIPS and former default): the same users and passwords, so the difference is the
  hashing alone.
Users are created in bulk (partial import, plain passwords hashed by the realm's policy) and deleted at the end;
the hashing parameters in the notes are read back from a stored credential. Keycloak's CPU time (its JVM, from
/proc) over the window turns throughput into logins per Keycloak vCPU-second and CPU milliseconds per login.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from benchlib import (
    Sample,
    Section,
    StackProcesses,
    Usage,
    arguments,
    percentile,
    run_as_rehearsal_client,
    save,
    stack_processes,
)

from idpkit.errors import IdpkitError
from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, connect, urls
from idpkit.outputs import StackOutputs, load_admin_credentials, load_outputs
from idpkit.realm import loader
from idpkit.realm.bootstrap import create_delegated_realm
from idpkit.realm.kinds.users import totp_credential_data
from idpkit.realm.model import RealmSettings
from idpkit.realm.secrets import load_smoke_credentials, new_totp_secret
from idpkit.smoke import oauth
from idpkit.smoke.identities import smoke_clients
from idpkit.smoke.otp import OneTimeCodes

BENCH_REALM, BENCH_CLIENT = "bench-login", "bench-login-app"
REDIRECT_URI = "https://app.bench-login.invalid/callback"
PHI_CLIENT = "smoke-web"
USER_PREFIX = "bench-login-"
"""Every user this benchmark creates in `phi` starts so: what an interrupted run left there is swept at the next."""
HASH_ALGORITHMS = ("argon2", "pbkdf2-sha512")
GUIDANCE_PER_VCPU = 15
"""Keycloak's sizing guide: "For each 15 password-based user logins per second, allocate 1 vCPU to the cluster"."""
GUIDANCE_SOURCE = "https://www.keycloak.org/high-availability/single-cluster/concepts-memory-and-cpu-sizing"
SCOPE = "openid"
PARTIAL_IMPORT = "admin/realms/{realm}/partialImport"
"""Bulk user creation. Kept out of idpkit.keycloak_admin.urls on purpose: every template there is one a realm plan
read from a file may name, and no plan may import users wholesale."""
PAGE = 500
"""Users per admin-API page when sweeping."""


@dataclass(frozen=True)
class Durations:
    warm_up: float
    measure: float


FULL, QUICK = Durations(5.0, 15.0), Durations(2.0, 3.0)
FULL_PASSWORD_USERS, QUICK_PASSWORD_USERS = 100, 6
"""Password-only users log in again and again (no code to refuse), so a small pool serves any rate."""
QUICK_MFA_USERS = 64
"""Each logs in once a TOTP period: enough that the quick warm-up (4 workers, 2 s, ~15 logins/s) leaves some for the
window."""


@dataclass
class Person:
    username: str
    password: str = field(repr=False)
    codes: OneTimeCodes | None = field(default=None, repr=False)
    last_login: float = float("-inf")


class Pool:
    """Users handed out in turn, each again only `rest` seconds after its last login (a TOTP period: one code a
    period per user); `take` returns None when nobody may log in yet, which ends the scenario."""

    def __init__(self, people: list[Person], rest: float) -> None:
        self._waiting = deque(people)
        self._rest = rest
        self._lock = threading.Lock()

    def take(self) -> Person | None:
        with self._lock:
            person = self._waiting[0]
            now = time.monotonic()
            if now - person.last_login < self._rest:
                return None
            person.last_login = now
            self._waiting.rotate(-1)
            return person


@dataclass(frozen=True)
class Scenario:
    label: str
    endpoints: oauth.Endpoints
    client: oauth.Client
    pool: Pool
    verify: str | bool


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--stack", default="local")
    parser.add_argument("--workers", type=int, choices=range(1, 9), default=4, metavar="1..8")
    parser.add_argument("--users", type=int, default=400, help="users of the TOTP scenario (one login a period each)")
    args = parser.parse_args()
    durations = QUICK if args.quick else FULL
    mfa_users = QUICK_MFA_USERS if args.quick else args.users
    password_users = QUICK_PASSWORD_USERS if args.quick else FULL_PASSWORD_USERS
    run_as_rehearsal_client(args.stack)
    outputs = load_outputs(args.stack)
    processes = stack_processes(args.stack)
    cores = os.cpu_count() or 1
    section = Section(
        f"Browser-less logins: authorization code + PKCE through the front door ({args.workers} workers, "
        f"{durations.warm_up:g} s warm-up, {durations.measure:g} s window, {cores} cores)",
        ["scenario", "database", "logins (errors)", "logins/s", "p50 / p99", "Keycloak CPU", "per Keycloak vCPU",
         "Keycloak CPU per login", "vs guidance", "nginx + load generator CPU"],
    )  # fmt: skip
    section.note(f"machine load average (1 min) before the first scenario: {os.getloadavg()[0]:.2f}")
    master = AdminApi(connect(outputs, load_admin_credentials(outputs)), ADMIN_REALM)
    phi = AdminApi(master.connection, outputs.realm)
    settings = loader.load(args.stack).document.realm or RealmSettings()
    failed: list[str] = []
    cost_per_login: dict[str, float] = {}

    def measure(scenario: Scenario, hashing: str) -> None:
        measured = _run(scenario, args.workers, durations, processes)
        section.add(*measured.row)
        cost_per_login[scenario.label] = measured.keycloak_ms_per_login
        section.note(f"{scenario.label}: {hashing}")
        if measured.errors or not measured.logins:
            failed.append(f"{scenario.label}: {measured.failure or 'no login ended in the window'}")
        if measured.pool_exhausted:
            section.note(f"{scenario.label}: the window ended early, every user had logged in within the TOTP "
                         "period (raise --users)")  # fmt: skip

    passwords = [secrets.token_urlsafe(24) for _ in range(max(mfa_users, password_users))]
    with tempfile.TemporaryDirectory(prefix="login-load-") as scratch:
        _sweep(phi)
        try:
            people = _import_people(phi, passwords[:mfa_users], settings, Path(scratch) / "totp-steps.json")
            measure(_phi_scenario(outputs, args.stack, people, settings), _hashing(phi, people[0]))
        finally:
            _sweep(phi)
    for algorithm in HASH_ALGORITHMS:
        with _bench_realm(outputs, master, algorithm) as bench:
            people = _import_people(bench, passwords[:password_users], None, None)
            endpoints = oauth.Endpoints.from_discovery(_discovery(f"{outputs.base_url}/realms/{BENCH_REALM}", outputs))
            client = oauth.Client(BENCH_CLIENT, REDIRECT_URI)
            scenario = Scenario(_bench_label(algorithm), endpoints, client, Pool(people, 0.0), outputs.tls_verify)
            measure(scenario, _hashing(bench, people[0]))
    _explain(section, cost_per_login)
    for label in failed:
        section.note(f"FAILED: {label}")
    save([section], args.results)
    return 1 if failed else 0


def _bench_label(algorithm: str) -> str:
    return f"`{BENCH_REALM}` password only, {algorithm}"


def _explain(section: Section, cost_per_login: dict[str, float]) -> None:
    argon2, pbkdf2 = (cost_per_login.get(_bench_label(name), 0.0) for name in HASH_ALGORITHMS)
    if argon2 and pbkdf2:
        section.note(
            f"argon2 against pbkdf2-sha512 at Keycloak's default parameters: {argon2 - pbkdf2:+.1f} ms of Keycloak "
            "CPU per login (same users, passwords, client and flow; only the realm's hashAlgorithm differs)"
        )
    section.note(
        f"per Keycloak vCPU = successful logins / Keycloak's JVM CPU seconds in the window; guidance: about "
        f"{GUIDANCE_PER_VCPU} password-based logins/s per vCPU (Keycloak's sizing guide, {GUIDANCE_SOURCE}: "
        "argon2 at its defaults, 3 pods, Aurora PostgreSQL, 20,000 users)"
    )
    section.note(
        "a login is 6-8 requests (pushed request, authorization, login form, one-time code form in `phi`, redirects, "
        "token) from a fresh browser (new TLS connections); Keycloak, nginx and the Python load generator share the "
        "machine's cores, so the generator's CPU (TLS, PS256 client assertions and DPoP proofs in `phi`) is shown"
    )
    section.note(
        f"events: `phi` records them as realm-config configures (LOGIN, CODE_TO_TOKEN...); `{BENCH_REALM}` has "
        "them off; users and their one-time-code ledger are created for the run and deleted after it"
    )


@dataclass(frozen=True)
class Measured:
    logins: int
    errors: int
    keycloak_ms_per_login: float
    pool_exhausted: bool
    failure: str | None
    """The commonest reason a login failed, warm-up included."""
    row: list[str]


def _run(scenario: Scenario, workers: int, durations: Durations, processes: StackProcesses) -> Measured:
    """One scenario's warm-up and window: its login and error counts, and its report row."""
    stop, exhausted = threading.Event(), threading.Event()
    samples: list[list[Sample]] = [[] for _ in range(workers)]
    failures: Counter[str] = Counter()
    running = [workers]
    lock = threading.Lock()

    def work(mine: list[Sample]) -> None:
        while not stop.is_set() and (person := scenario.pool.take()) is not None:
            started = time.monotonic()
            failure = _login(scenario, person)
            mine.append(Sample(started, time.monotonic() - started, failure is None))
            if failure is not None:
                with lock:
                    failures[failure] += 1
        with lock:
            running[0] -= 1
            # The pool ran dry (everyone logged in within the TOTP period): the window ends with the last login.
            if not running[0] and not stop.is_set():
                exhausted.set()

    threads = [threading.Thread(target=work, args=(mine,), daemon=True) for mine in samples]
    for thread in threads:
        thread.start()
    exhausted.wait(durations.warm_up)
    start = Usage.now(processes)
    exhausted.wait(durations.measure)
    used = Usage.now(processes).since(start)
    stop.set()
    for thread in threads:
        thread.join(oauth.TIMEOUT * 8)
    end = start.wall + used.wall
    # A login takes many requests, so a window holds few: it counts the logins that ended in it, whenever they began.
    window = [s for mine in samples for s in mine if start.wall <= s.started + s.seconds <= end]
    latencies = sorted(s.seconds for s in window if s.ok)
    ok = len(latencies)
    rate = ok / used.wall
    per_vcpu = ok / used.keycloak if used.keycloak else 0.0
    ms_per_login = used.keycloak * 1000 / ok if ok else 0.0
    commonest = failures.most_common(1)
    failure = f"{commonest[0][0]} ({commonest[0][1]} of {sum(failures.values())} failures)" if commonest else None
    return Measured(len(window), len(window) - ok, ms_per_login, exhausted.is_set(), failure, [
        scenario.label,
        processes.database,
        f"{len(window)} ({len(window) - ok})",
        f"{rate:.1f}/s",
        f"{percentile(latencies, 0.5) * 1000:.0f} / {percentile(latencies, 0.99) * 1000:.0f} ms",
        f"{used.keycloak / used.wall:.2f} cores",
        f"{per_vcpu:.1f}/s",
        f"{ms_per_login:.1f} ms",
        f"{per_vcpu / GUIDANCE_PER_VCPU:.0%}",
        f"{used.nginx / used.wall:.2f} + {used.generator / used.wall:.2f} cores",
    ])  # fmt: skip


def _login(scenario: Scenario, person: Person) -> str | None:
    """One login from a fresh browser; why it failed, or None."""
    agent = oauth.UserAgent(scenario.verify, person.username, person.password, person.codes)
    try:
        grant = oauth.sign_in(agent, scenario.endpoints, scenario.client, SCOPE)
        if grant.response.status_code != requests.codes.ok or "access_token" not in grant.tokens:
            return f"token response {grant.response.status_code}: {oauth.oauth_error(grant.response)}"
    except (requests.RequestException, RuntimeError, ValueError, KeyError) as error:
        return f"{type(error).__name__}: {error}"
    finally:
        agent.session.close()
    return None


def _phi_scenario(outputs: StackOutputs, stack: str, people: list[Person], settings: RealmSettings) -> Scenario:
    declared = {client.client_id: client for client in smoke_clients(loader.load(stack))}
    if PHI_CLIENT not in declared or declared[PHI_CLIENT].redirect_uri is None:
        raise SystemExit(f"realm-config for {stack} declares no {PHI_CLIENT} with a redirect URI: nothing to log in to")
    client = declared[PHI_CLIENT].played(load_smoke_credentials(stack))
    endpoints = oauth.Endpoints.from_discovery(_discovery(outputs.issuer, outputs))
    period = float(settings.otp_policy_period or 30)
    label = f"`{outputs.realm}` {PHI_CLIENT}: password + TOTP"
    return Scenario(label, endpoints, client, Pool(people, period), outputs.tls_verify)


def _import_people(
    api: AdminApi, passwords: list[str], settings: RealmSettings | None, ledger: Path | None
) -> list[Person]:
    """Users with these passwords (hashed by the realm's policy at import) and, with a ledger, a TOTP credential."""
    people, representations = [], []
    for index, password in enumerate(passwords):
        username = f"{USER_PREFIX}{index:05d}"
        credentials: list[dict[str, Any]] = [{"type": "password", "value": password, "temporary": False}]
        codes = None
        if ledger is not None:
            secret = new_totp_secret()
            credentials.append({"type": "otp", "userLabel": "bench TOTP", "secretData": json.dumps({"value": secret}),
                                "credentialData": totp_credential_data(settings)})  # fmt: skip
            codes = OneTimeCodes.for_realm(secret, ledger, settings or RealmSettings())
        representations.append({
            "username": username, "enabled": True, "email": f"{username}@example.invalid", "emailVerified": True,
            "firstName": "Bench", "lastName": "Login", "credentials": credentials,
        })  # fmt: skip
        people.append(Person(username, password, codes))
    started = time.monotonic()
    api.post(api.path(PARTIAL_IMPORT), {"users": representations, "ifResourceExists": "FAIL"})
    print(f"  {api.realm}: {len(people)} users imported in {time.monotonic() - started:.1f} s", flush=True)
    return people


def hashing_parameters(credential_data: str) -> str:
    """A stored password credential's hashing, as the notes show it (from its `credentialData` JSON text)."""
    data = json.loads(credential_data)
    extra = {key: values[0] for key, values in (data.get("additionalParameters") or {}).items() if values}
    described = f"{data['algorithm']}, {data['hashIterations']} iterations"
    if "memory" in extra:
        described += f", {int(extra['memory']) // 1024} MiB"
    details = [f"{name} {extra[name]}" for name in ("type", "version", "parallelism", "hashLength") if name in extra]
    return described + (f" ({', '.join(details)})" if details else "")


def _hashing(api: AdminApi, person: Person) -> str:
    """How the realm stored a user's password: the server's word, not the policy's."""
    found = api.get(api.path(urls.USERS), username=person.username, exact="true") or []
    if not found:
        raise SystemExit(f"user {person.username} was imported but cannot be found in realm {api.realm}")
    stored = api.get(api.path(urls.USER_CREDENTIALS, id=found[0]["id"])) or []
    password = next((c for c in stored if c.get("type") == "password"), None)
    if password is None:
        raise SystemExit(f"user {person.username} of realm {api.realm} has no stored password")
    return f"password hashing read back from a stored credential: {hashing_parameters(password['credentialData'])}"


def _sweep(api: AdminApi) -> None:
    """Delete this benchmark's users (a realm holding people is never dropped)."""
    started, deleted = time.monotonic(), 0
    while found := [u for u in api.get(api.path(urls.USERS), username=USER_PREFIX, max=str(PAGE)) or []
                    if u["username"].startswith(USER_PREFIX)]:  # fmt: skip
        for user in found:
            api.delete(api.path(urls.USER, id=user["id"]))
        deleted += len(found)
    if deleted:
        print(f"  {api.realm}: {deleted} users deleted in {time.monotonic() - started:.1f} s", flush=True)


@contextmanager
def _bench_realm(outputs: StackOutputs, master: AdminApi, algorithm: str) -> Iterator[AdminApi]:
    """The throwaway realm, hashing passwords with `algorithm`, with one public PKCE client; dropped afterwards."""
    create_delegated_realm(outputs, {"realm": BENCH_REALM, "enabled": True, "sslRequired": "all",
                                     "passwordPolicy": f"hashAlgorithm({algorithm})"})  # fmt: skip
    bench = AdminApi(master.connection, BENCH_REALM)
    try:
        bench.post(bench.path(urls.CLIENTS), {
            "clientId": BENCH_CLIENT, "publicClient": True, "standardFlowEnabled": True,
            "directAccessGrantsEnabled": False, "redirectUris": [REDIRECT_URI], "consentRequired": False,
            "attributes": {"pkce.code.challenge.method": "S256"},
        })  # fmt: skip
        yield bench
    finally:
        master.drop_realm(BENCH_REALM)


def _discovery(issuer: str, outputs: StackOutputs) -> dict[str, object]:
    response = requests.get(f"{issuer}/.well-known/openid-configuration", verify=outputs.tls_verify, timeout=10)
    response.raise_for_status()
    document: dict[str, object] = response.json()
    return document


if __name__ == "__main__":
    try:
        sys.exit(main())
    except IdpkitError as error:
        sys.exit(f"login benchmark: {error}")
