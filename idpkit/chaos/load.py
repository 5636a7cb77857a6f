"""Bounded, mixed load through a stack's outputs, made the way its clients make it.

Four kinds of request, each from its own paced worker thread:
- **login**: a browser-less authorization code + PKCE login with `smoke-web` (private_key_jwt), on the browser
  listener, with password and TOTP, of people enrolled for the load (`login_people`); every login opens a
  session kept for the refresh worker;
- **client-credentials**: `smoke-backend` (private_key_jwt) on the M2M listener with the smoke-mtls client
  certificate, so its tokens are certificate-bound;
- **refresh**: the sessions' refresh tokens, round robin, rotated on every use as the realm requires;
- **validation**: the issued access tokens validated as a resource server does (signature against the
  realm's JWKS with a cached `PyJWKClient` that refetches on an unknown kid, issuer, audience, lifetime),
  the newest and a replay of an older one.

Every request becomes a `Sample` (wall-clock start, duration, failure class or None), so a scenario can
say which failed, when, and how they relate to the fault. A session whose refresh token Keycloak refuses
(`invalid_grant`) is lost; `audit_sessions` refreshes every surviving session once after the fault.
Nothing here prints a token or a password.
"""

from __future__ import annotations

import math
import random
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests

from idpkit.keycloak_admin import AdminApi, connect
from idpkit.outputs import load_admin_credentials, load_outputs
from idpkit.realm import loader
from idpkit.realm.secrets import load_smoke_credentials
from idpkit.smoke import oauth, throwaway
from idpkit.smoke.certificates import Role, certificate_for
from idpkit.smoke.identities import smoke_clients

# The smoke identities of realm-config/fragments/smoke.yaml (non-production stacks only); the people the load
# logs in hold USER's realm roles.
WEB_CLIENT, BACKEND_CLIENT, USER = "smoke-web", "smoke-backend", "smoke-clinician"
REDIRECT_URI = "https://127.0.0.1:8765/callback"
LOGIN_SCOPE = "openid patient/Patient.rs"
RESOURCE_SERVER = "phi-api"
ALGORITHMS = ("PS256", "ES256")
KINDS = ("login", "client-credentials", "refresh", "validation")
SESSION_LOST = "session lost (refresh token refused)"
RECENT_TOKENS = 200
MAX_SESSIONS = 400
"""Logins beyond this still count, their sessions are not kept (bounds the audit and the memory)."""
REQUEST_TIMEOUT = 15
EXPIRY_GUARD_SECONDS = 5.0


@dataclass(frozen=True)
class LoadProfile:
    """Target rates per second of each kind; each worker paces itself and never exceeds its rate."""

    logins: float
    grants: float
    refreshes: float
    validations: float

    def describe(self) -> str:
        return (
            f"{self.logins:g} logins/s (code + PKCE), {self.grants:g} mTLS client-credentials grants/s, "
            f"{self.refreshes:g} refreshes/s, {self.validations:g} JWKS validations/s"
        )

    def rate(self, kind: str) -> float:
        return {"login": self.logins, "client-credentials": self.grants, "refresh": self.refreshes,
                "validation": self.validations}[kind]  # fmt: skip


@dataclass(frozen=True)
class Sample:
    kind: str
    started: float
    """Wall-clock time (time.time()), to line up with the load balancer's log."""
    seconds: float
    failure: str | None

    @property
    def ended(self) -> float:
        return self.started + self.seconds


@dataclass
class UserSession:
    """One login's session as its client holds it: the current refresh token."""

    number: int
    refresh_token: str = field(repr=False)
    issued: list[float] = field(default_factory=lambda: [time.time()])
    """When Keycloak issued this session's refresh tokens (the login, then every refresh)."""
    refreshes: int = 0
    in_doubt: bool = False
    """The last refresh got no answer: Keycloak may have rotated the token on a node that then died."""
    lost: str | None = None


@dataclass(frozen=True)
class StackClients:
    """The stack's endpoints and the smoke identities the load uses, from its outputs."""

    endpoints: oauth.Endpoints
    web: oauth.Client
    backend: oauth.Client
    certificate: tuple[str, str]
    verify: str | bool
    people: tuple[throwaway.User, ...] = field(repr=False)
    """Who the login worker logs in, in turn (`login_people`)."""
    lifespan: int = 300

    @classmethod
    def of(cls, stack: str, scratch: Path, people: tuple[throwaway.User, ...]) -> StackClients:
        outputs = load_outputs(stack)
        discovery = requests.get(
            f"{outputs.issuer}/.well-known/openid-configuration", verify=outputs.tls_verify, timeout=REQUEST_TIMEOUT
        )
        discovery.raise_for_status()
        credentials = load_smoke_credentials(stack)
        loaded = loader.load(stack)
        realm = loaded.document.realm
        declared = {client.client_id: client for client in smoke_clients(loaded)}
        return cls(
            endpoints=oauth.Endpoints.from_discovery(discovery.json()),
            web=declared[WEB_CLIENT].played(credentials),
            backend=oauth.Client(BACKEND_CLIENT, key=oauth.ClientKey.from_credentials(credentials, BACKEND_CLIENT)),
            certificate=certificate_for(stack, Role.CLIENT, scratch).requests_cert,
            verify=outputs.tls_verify,
            people=people,
            lifespan=(realm.access_token_lifespan if realm and realm.access_token_lifespan else 300),
        )

    def expectations(self, client_id: str) -> oauth.TokenExpectations:
        """A resource server's view of the client's tokens: DPoP tokens where the client binds them to a key."""
        bound = any(client.client_id == client_id and client.dpop is not None for client in (self.web, self.backend))
        return oauth.TokenExpectations(
            issuer=self.endpoints.issuer, audience=RESOURCE_SERVER, authorized_party=client_id,
            max_lifetime=self.lifespan, algorithms=ALGORITHMS, typ=oauth.DPOP if bound else oauth.BEARER,
        )  # fmt: skip

    def jwks_client(self) -> jwt.PyJWKClient:
        """A resource server's JWKS client: keys cached, refetched when a token names an unknown kid."""
        context = ssl.create_default_context(cafile=self.verify if isinstance(self.verify, str) else None)
        return jwt.PyJWKClient(self.endpoints.jwks_uri, ssl_context=context, timeout=REQUEST_TIMEOUT)


def classify(error: BaseException | None = None, response: requests.Response | None = None) -> str:
    """A failure's class: what an on-call engineer would group by."""
    if isinstance(error, requests.Timeout):
        return "timeout"
    if isinstance(error, requests.ConnectionError):
        return "connection error"
    if error is not None:
        return type(error).__name__
    if response is None:
        return "no response"
    reason = oauth.oauth_error(response)
    return f"HTTP {response.status_code}" + (f" {reason}" if reason else "")


class Load:
    """The four workers over one stack; `run()` is a context manager that starts and stops them."""

    def __init__(self, clients: StackClients, profile: LoadProfile, max_seconds: float) -> None:
        self.clients = clients
        self.profile = profile
        self.max_seconds = max_seconds
        self.samples: list[Sample] = []
        self.sessions: list[UserSession] = []
        self.tokens: deque[tuple[str, str, float]] = deque(maxlen=RECENT_TOKENS)
        """(client, access token, its exp) as issued: what the validation worker checks and replays."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next_session = 0
        self._logins = 0

    @contextmanager
    def run(self) -> Iterator[Load]:
        self._stop.clear()
        actions: dict[str, Callable[[], str | None]] = {
            "login": self._login, "client-credentials": self._client_credentials,
            "refresh": self._refresh, "validation": self._validation_worker(),
        }  # fmt: skip
        deadline = time.monotonic() + self.max_seconds
        threads = [
            threading.Thread(target=self._paced, args=(kind, action, deadline), daemon=True, name=f"load-{kind}")
            for kind, action in actions.items()
            if self.profile.rate(kind) > 0
        ]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(REQUEST_TIMEOUT * 3)

    def record(self, kind: str, started: float, seconds: float, failure: str | None) -> None:
        with self._lock:
            self.samples.append(Sample(kind, started, seconds, failure))

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)

    def wait_for_sessions(self, count: int, timeout: float) -> bool:
        """Let the load open `count` sessions before the fault, so the fault has sessions to lose."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if sum(1 for s in self.sessions if s.lost is None) >= count:
                    return True
            time.sleep(0.2)
        return False

    def audit_sessions(self) -> dict[str, int]:
        """After the fault: refresh every session once more; one refused is a session the fault lost."""
        with self._lock:
            alive = [s for s in self.sessions if s.lost is None]
        for session in alive:
            started = time.time()
            failure = self._refresh_one(session)
            self.record("refresh", started, time.time() - started, failure)
        with self._lock:
            lost = [s for s in self.sessions if s.lost is not None]
        return {
            "sessions": len(self.sessions),
            "lost": len(lost),
            "lost_after_in_flight_refresh": sum(1 for s in lost if s.lost == "in doubt"),
            "refreshed_at_audit": sum(1 for s in alive if s.lost is None),
        }

    # --- workers --------------------------------------------------------------------------------------

    def _paced(self, kind: str, action: Callable[[], str | None], deadline: float) -> None:
        interval = 1.0 / self.profile.rate(kind)
        due = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < deadline:
            started, clock = time.time(), time.monotonic()
            try:
                failure = action()
            except (requests.RequestException, ValueError, KeyError, RuntimeError) as error:
                failure = classify(error)
            self.record(kind, started, time.monotonic() - clock, failure)
            due = max(due + interval, time.monotonic())
            self._stop.wait(max(0.0, due - time.monotonic()))

    def _login(self) -> str | None:
        clients = self.clients
        person = clients.people[self._logins % len(clients.people)]
        self._logins += 1
        agent = oauth.UserAgent(clients.verify, person.username, person.password, person.codes)
        pkce = oauth.Pkce.generate()
        params = oauth.authorization_params(WEB_CLIENT, REDIRECT_URI, LOGIN_SCOPE, pkce)
        answer = agent.authorize(clients.endpoints, clients.web, params)
        if answer.code is None or answer.params.get("state") != params["state"]:
            return f"login page HTTP {answer.status}" + (f" {answer.error}" if answer.error else "")
        data = {"grant_type": "authorization_code", "code": answer.code, "redirect_uri": REDIRECT_URI,
                "code_verifier": pkce.verifier}  # fmt: skip
        response = oauth.token_request(clients.endpoints, clients.web, data, verify=clients.verify)
        if response.status_code != 200:
            return classify(response=response)
        tokens = response.json()
        with self._lock:
            self.tokens.append(_issued(WEB_CLIENT, str(tokens["access_token"])))
            if len(self.sessions) < MAX_SESSIONS:
                self._next_session += 1
                self.sessions.append(UserSession(self._next_session, str(tokens["refresh_token"])))
        return None

    def _client_credentials(self) -> str | None:
        clients = self.clients
        response = oauth.client_credentials(
            clients.endpoints, clients.backend, cert=clients.certificate, verify=clients.verify
        )
        if response.status_code != 200:
            return classify(response=response)
        with self._lock:
            self.tokens.append(_issued(BACKEND_CLIENT, str(response.json()["access_token"])))
        return None

    def _refresh(self) -> str | None:
        with self._lock:
            alive = [s for s in self.sessions if s.lost is None]
            if not alive:
                return None
            session = min(alive, key=lambda s: (s.refreshes, s.number))
        return self._refresh_one(session)

    def _refresh_one(self, session: UserSession) -> str | None:
        clients = self.clients
        try:
            response = oauth.refresh(clients.endpoints, clients.web, session.refresh_token, verify=clients.verify)
        except requests.RequestException as error:
            session.in_doubt, session.refreshes = True, session.refreshes + 1
            return classify(error)
        session.refreshes += 1
        if response.status_code == 200:
            tokens = response.json()
            session.refresh_token, session.in_doubt = str(tokens["refresh_token"]), False
            session.issued.append(time.time())
            with self._lock:
                self.tokens.append(_issued(WEB_CLIENT, str(tokens["access_token"])))
            return None
        if oauth.oauth_error(response) == "invalid_grant":
            session.lost = "in doubt" if session.in_doubt else "refused"
            return SESSION_LOST
        session.in_doubt = session.in_doubt or response.status_code >= 500
        return classify(response=response)

    def _validation_worker(self) -> Callable[[], str | None]:
        jwks = self.clients.jwks_client()

        def validate() -> str | None:
            with self._lock:
                # A token about to expire failing is not a fault's doing: only live ones are replayed.
                live = [entry for entry in self.tokens if entry[2] - time.time() > EXPIRY_GUARD_SECONDS]
                if not live:
                    return None
                newest, replay = live[-1], random.choice(live)  # noqa: S311 - not a secret
            for client_id, token, _exp in {newest, replay}:
                try:
                    oauth.validate_token(token, jwks, self.clients.expectations(client_id))
                except oauth.TokenValidationError as error:
                    return _validation_failure(str(error))
            return None

        return validate


def _issued(client_id: str, token: str) -> tuple[str, str, float]:
    return client_id, token, float(oauth.unverified_claims(token)["exp"])


def _validation_failure(message: str) -> str:
    # validate_token's message: "<label>: <PyJWT error class>: <detail>"; the detail may vary per token.
    parts = message.split(": ")
    error_class = parts[1] if len(parts) > 2 else message
    if error_class == "PyJWKClientConnectionError":
        return "JWKS unreachable"
    return f"token rejected: {error_class}"


def tally(samples: list[Sample], since: float | None = None, until: float | None = None) -> dict[str, Any]:
    """Requests and failures per kind, failures grouped by class, of the requests that ended between two
    wall-clock times (a request in flight at the fault counts from the fault on)."""
    chosen = [s for s in samples if (since is None or s.ended >= since) and (until is None or s.ended < until)]
    requests_by_kind = Counter(s.kind for s in chosen)
    failures: dict[str, dict[str, int]] = {}
    for sample in chosen:
        if sample.failure is not None:
            failures.setdefault(sample.kind, {}).setdefault(sample.failure, 0)
            failures[sample.kind][sample.failure] += 1
    return {
        "requests": sum(requests_by_kind.values()),
        "by_kind": {kind: requests_by_kind.get(kind, 0) for kind in KINDS},
        "failed": sum(1 for s in chosen if s.failure is not None),
        "failures": failures,
    }


def ready_marker(output: Path) -> Path:
    """Written by the load process once its people are enrolled and its workers start."""
    return output.with_name(f"{output.name}.ready")


@contextmanager
def login_people(stack: str, profile: LoadProfile, scratch: Path) -> Iterator[tuple[throwaway.User, ...]]:
    """People for the login worker, each with the smoke user's realm roles, a password and a TOTP secret of its
    own (in memory only), deleted afterwards. Every person in the realm logs in with a second factor, the realm
    takes each code once, and a secret yields one new code per period: taken in turn, rate x period people
    keep every login from waiting for a code."""
    outputs = load_outputs(stack)
    loaded = loader.load(stack)
    settings = loaded.document.realm
    declared = next((user for user in loaded.document.users or [] if user.username == USER), None)
    if settings is None or declared is None:
        raise ValueError(f"realm-config for {stack}: no realm settings or no {USER} to take the load's roles from")
    admin = AdminApi(connect(outputs, load_admin_credentials(outputs)), outputs.realm)
    created = throwaway.Throwaway(admin, throwaway.SecondFactor(settings, scratch / "totp-steps.json"))
    count = math.ceil(profile.logins * (settings.otp_policy_period or 30)) + 1
    try:
        yield tuple(created.user("load", realm_roles=declared.realm_roles or ()) for _ in range(count))
    finally:
        created.cleanup()


def serve(stack: str, profile: LoadProfile, max_seconds: float, output: Path, scratch: Path) -> None:
    """The load as its own process (in the rehearsal's edge namespace, where the stack's names resolve):
    enrols its people, runs until SIGTERM or `max_seconds`, then audits the sessions and writes every sample
    to `output`."""
    import json  # noqa: PLC0415
    import signal  # noqa: PLC0415

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopped.set())
    with login_people(stack, profile, scratch) as people:
        load = Load(StackClients.of(stack, scratch, people), profile, max_seconds)
        started = time.time()
        ready_marker(output).touch()
        with load.run():
            stopped.wait(max_seconds)
        audit = load.audit_sessions()
    payload = {
        "profile": profile.__dict__,
        "started": started,
        "stopped": time.time(),
        "audit": audit,
        "sessions": [[s.number, [round(at, 3) for at in s.issued], s.lost] for s in load.sessions],
        "samples": [[s.kind, round(s.started, 3), round(s.seconds, 4), s.failure] for s in load.snapshot()],
    }
    output.write_text(json.dumps(payload))


def read_samples(payload: dict[str, Any]) -> list[Sample]:
    return [Sample(kind, started, seconds, failure) for kind, started, seconds, failure in payload["samples"]]
