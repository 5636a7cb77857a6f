"""Mutation testing of the smoke suite: weaken one hardened realm setting, prove a smoke test notices.

`idpkit smoke --stack local --mutations` applies each mutant to the live local realm through the
admin API, runs the suite with `-x` (the first failing test is the catcher), then re-applies the
codified realm (`idpkit.realm.engine.apply`) and checks that `plan` is clean before the next one.

Every mutant changes only fields realm-config declares (realm settings, declared clients' fields,
attributes and scope lists, the kit's client profiles), so whatever interrupts a run,
`idpkit realm apply --stack local` restores the realm completely.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idpkit.errors import ExitCode, IdpkitError
from idpkit.keycloak_admin import AdminApi, urls
from idpkit.outputs import LOCAL_STACK, load_outputs
from idpkit.realm import engine
from idpkit.smoke.runner import run_suite

# Deterministic order and quiet; mutant runs add -x: the first failing test is the catcher.
SUITE_ARGS = ("-p", "no:randomly", "-q", "--tb=no", "--no-header")
BASELINE_PROFILE = "idpkit-phi-baseline"
MACHINE_PROFILE = "idpkit-phi-machine"
SPA = "smoke-spa"
PYTEST_PASSED, PYTEST_FAILED = 0, 1
RESTORE_PASSES = 2
# Tries per mutant when its catcher turns out to fail on the restored realm too.
MAX_ATTEMPTS = 3
BOUND = "tls.client.certificate.bound.access.tokens"
Step = Callable[[AdminApi], None]


@dataclass(frozen=True)
class Mutant:
    name: str
    setting: str
    """The hardened setting weakened, in realm-config's words."""
    expected: str
    """The smoke check that must catch it."""
    steps: tuple[Step, ...] = field(repr=False)
    suite_args: tuple[str, ...] = ()
    """Extra pytest arguments for this mutant's run, e.g. selecting the expiry check that alone can see it."""

    def apply(self, api: AdminApi) -> None:
        for step in self.steps:
            step(api)


@dataclass
class Outcome:
    mutant: Mutant
    caught_by: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "mutant": self.mutant.name,
            "setting": self.mutant.setting,
            "expected": self.mutant.expected,
            "caught_by": self.caught_by,
            "seconds": round(self.seconds, 1),
        }


# --- steps: each reads the live object and writes it back changed ---------------------------------


def realm(**fields: Any) -> Step:
    def step(api: AdminApi) -> None:
        api.put(api.path(urls.REALM), fields)

    return step


def browser_headers(**headers: str) -> Step:
    def step(api: AdminApi) -> None:
        current = api.get(api.path(urls.REALM))["browserSecurityHeaders"]
        api.put(api.path(urls.REALM), {"browserSecurityHeaders": {**current, **headers}})

    return step


def _client(api: AdminApi, client_id: str) -> dict[str, Any]:
    found = api.get(api.path(urls.CLIENTS), clientId=client_id) or []
    if len(found) != 1:
        raise IdpkitError(f"mutation: client {client_id} not found in realm {api.realm}")
    client: dict[str, Any] = found[0]
    return client


def client(client_id: str, attributes: dict[str, str] | None = None, **fields: Any) -> Step:
    def step(api: AdminApi) -> None:
        current = _client(api, client_id)
        body = {**current, **fields, "attributes": {**current.get("attributes", {}), **(attributes or {})}}
        api.put(api.path(urls.CLIENT, id=current["id"]), body)

    return step


def _scope_id(api: AdminApi, name: str) -> str:
    scopes = api.get(api.path(urls.CLIENT_SCOPES)) or []
    return next(str(scope["id"]) for scope in scopes if scope["name"] == name)


def add_optional_scope(client_id: str, scope: str) -> Step:
    def step(api: AdminApi) -> None:
        current = _client(api, client_id)
        api.put(api.path(urls.CLIENT_OPTIONAL_SCOPE, id=current["id"], scope=_scope_id(api, scope)), None)

    return step


def remove_default_scope(client_id: str, scope: str) -> Step:
    def step(api: AdminApi) -> None:
        current = _client(api, client_id)
        api.delete(api.path(urls.CLIENT_DEFAULT_SCOPE, id=current["id"], scope=_scope_id(api, scope)))

    return step


def _edit_profile(profile: str, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Step:
    """Client profiles are replaced as a whole set (PUT /client-policies/profiles)."""

    def step(api: AdminApi) -> None:
        current = api.get(api.path(urls.CLIENT_PROFILES)) or {}
        profiles = current.get("profiles") or []
        target = next((p for p in profiles if p["name"] == profile), None)
        if target is None:
            raise IdpkitError(f"mutation: client profile {profile} not found in realm {api.realm}")
        target["executors"] = edit(target.get("executors") or [])
        api.put(api.path(urls.CLIENT_PROFILES), {**current, "profiles": profiles})

    return step


def without_executor(profile: str, executor: str) -> Step:
    return _edit_profile(profile, lambda executors: [e for e in executors if e["executor"] != executor])


def executor_config(profile: str, executor: str, **config: Any) -> Step:
    def edit(executors: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for item in executors:
            if item["executor"] == executor:
                item["configuration"] = {**item.get("configuration", {}), **config}
        return executors

    return _edit_profile(profile, edit)


# --- the mutants ----------------------------------------------------------------------------------


def mutants() -> list[Mutant]:
    """One weakened setting each; executors go first where they would refuse or undo the client change."""
    pkce, implicit, ropc = "pkce-enforcer", "reject-implicit-grant", "reject-ropc-grant"
    redirects, authenticator, hok = (
        "secure-redirect-uris-enforcer",
        "secure-client-authenticator",
        "holder-of-key-enforcer",
    )
    return [
        Mutant("ssl-required-external", "realm.sslRequired: external",
               "SMOKE-REALM-001 (the HTTPS-only listeners mask it from requests)",
               (realm(sslRequired="external"),)),
        Mutant("access-token-1h", "realm.accessTokenLifespan: 3600",
               "flow test: access token lifetime <= 300 s", (realm(accessTokenLifespan=3600),)),
        # Only waiting out the codified lifespan shows it: run the code-expiry check (about 65 s) for this one.
        Mutant("code-lifespan-10min", "realm.accessCodeLifespan: 600",
               "SMOKE-CODE-007 (expired code refused; -m expiry)", (realm(accessCodeLifespan=600),),
               suite_args=("-m", "expiry", "-k", "expired_code")),
        Mutant("refresh-not-rotated", "realm.revokeRefreshToken: false",
               "attack test: reused refresh token refused", (realm(revokeRefreshToken=False),)),
        Mutant("refresh-reuse-5", "realm.refreshTokenMaxReuse: 5",
               "attack test: reused refresh token refused", (realm(refreshTokenMaxReuse=5),)),
        Mutant("signature-rs256", "realm.defaultSignatureAlgorithm: RS256",
               "flow test: tokens signed PS256/ES256", (realm(defaultSignatureAlgorithm="RS256"),)),
        Mutant("signature-hs256", "realm.defaultSignatureAlgorithm: HS256",
               "flow test: tokens signed PS256/ES256", (realm(defaultSignatureAlgorithm="HS256"),)),
        Mutant("framing-allowed", "realm.browserSecurityHeaders: no frame-ancestors, no X-Frame-Options",
               "SMOKE-BROWSER-001", (browser_headers(xFrameOptions="", contentSecurityPolicy="object-src 'none';"),)),
        Mutant("events-off", "realm.eventsEnabled: false", "SMOKE-AUDIT-001", (realm(eventsEnabled=False),)),
        Mutant("login-event-off", "realm.enabledEventTypes: LOGIN removed", "SMOKE-AUDIT-001",
               (realm(enabledEventTypes=["LOGIN_ERROR", "CODE_TO_TOKEN", "LOGOUT"]),)),
        Mutant("remember-me", "realm.rememberMe: true", "SMOKE-BROWSER-003", (realm(rememberMe=True),)),
        Mutant("self-registration", "realm.registrationAllowed: true", "SMOKE-BROWSER-004",
               (realm(registrationAllowed=True),)),
        Mutant("brute-force-off", "realm.bruteForceProtected: false",
               "SMOKE-BRUTE-001 (repeated wrong passwords lock the account)", (realm(bruteForceProtected=False),)),
        Mutant("pkce-not-required", f"client profile: {pkce} removed, {SPA} pkce.code.challenge.method unset",
               "attack test: authorization request without PKCE refused",
               (without_executor(BASELINE_PROFILE, pkce), client(SPA, {"pkce.code.challenge.method": ""}))),
        Mutant("pkce-plain", f"client profile: {pkce} removed, {SPA} pkce.code.challenge.method: plain",
               "attack test: plain PKCE refused",
               (without_executor(BASELINE_PROFILE, pkce), client(SPA, {"pkce.code.challenge.method": "plain"}))),
        Mutant("implicit-allowed", f"client profile: {implicit} removed, {SPA} implicitFlowEnabled: true",
               "attack test: implicit grant (response_type=token) refused",
               (without_executor(BASELINE_PROFILE, implicit), client(SPA, implicitFlowEnabled=True))),
        Mutant("ropc-allowed", f"client profile: {ropc} removed, {SPA} directAccessGrantsEnabled: true",
               "attack test: password grant refused",
               (without_executor(BASELINE_PROFILE, ropc), client(SPA, directAccessGrantsEnabled=True))),
        Mutant("redirect-wildcard", f"client profile: {redirects} removed, {SPA} redirectUris: https://127.0.0.1:8765/*",
               "attack test: unregistered redirect_uri refused",
               (without_executor(BASELINE_PROFILE, redirects),
                client(SPA, redirectUris=["https://127.0.0.1:8765/*"]))),
        Mutant("redirect-prefix", f"{redirects} allow-wildcard-context-path: true, {SPA} redirect …/callback*",
               "attack test: redirect_uri that only shares a prefix refused",
               (executor_config(BASELINE_PROFILE, redirects, **{"allow-wildcard-context-path": True}),
                client(SPA, redirectUris=["https://127.0.0.1:8765/callback*"]))),
        Mutant("client-secret-auth", f"client profile: {authenticator} removed, smoke-web client-secret",
               "attack test: client_secret authentication refused",
               (without_executor(BASELINE_PROFILE, authenticator),
                client("smoke-web", clientAuthenticatorType="client-secret"))),
        Mutant("mtls-not-bound", f"client profile: {hok} removed, smoke-mtls {BOUND}: false",
               "flow test: smoke-mtls token carries cnf.x5t#S256",
               (without_executor(MACHINE_PROFILE, hok), client("smoke-mtls", {BOUND: "false"}))),
        Mutant("jwt-client-not-bound", f"client profile: {hok} removed, smoke-backend {BOUND}: false",
               "flow/attack test: smoke-backend token is certificate-bound / refused without a certificate",
               (without_executor(MACHINE_PROFILE, hok), client("smoke-backend", {BOUND: "false"}))),
        Mutant("full-scope", f"{SPA} fullScopeAllowed: true",
               "SMOKE-ROLES-001 (tokens carry only the roles of the granted scopes)",
               (client(SPA, fullScopeAllowed=True),)),
        Mutant("forbidden-scope", f"{SPA} optionalClientScopes: + system/*.rs",
               "attack test: a patient app cannot obtain system/*.rs", (add_optional_scope(SPA, "system/*.rs"),)),
        Mutant("no-audience", f"{SPA} defaultClientScopes: phi-api-audience removed",
               "flow test: access token aud = phi-api", (remove_default_scope(SPA, "phi-api-audience"),)),
        Mutant("no-consent", f"{SPA} consentRequired: false", "SMOKE-AUDIT-002", (client(SPA, consentRequired=False),)),
    ]  # fmt: skip


# --- the run --------------------------------------------------------------------------------------


@dataclass
class MutationRun:
    outcomes: list[Outcome]
    seconds: float
    baseline_failures: list[str]
    """Tests already failing against the codified realm: left out of the mutant runs, which they would
    otherwise all "catch"; the run is not a pass while there are any."""
    unstable: list[str]
    """Tests that failed against a mutant and again against the restored realm: flaky, not catches."""

    @property
    def survivors(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.caught_by is None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mutants": len(self.outcomes),
            "caught": len(self.outcomes) - len(self.survivors),
            "seconds": round(self.seconds, 1),
            "baseline_failures": self.baseline_failures,
            "unstable_tests": self.unstable,
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
        }


def restore(session: engine.Session, stack: str) -> None:
    """Re-apply the codified realm, then insist the plan is clean (the next mutant starts from it)."""
    # A second pass converges when someone applied or edited realm-config while the first one ran.
    for _ in range(RESTORE_PASSES):
        engine.apply(session, stack, stack)
        leftover = engine.plan(session, stack, stack).changes
        if not leftover:
            return
    raise IdpkitError(
        f"realm {session.outputs.realm}: still differs from realm-config after restoring: "
        + ", ".join(f"{change.kind} {change.name}" for change in leftover),
        hint=f"run `idpkit realm apply --stack {stack}` and `idpkit realm plan --stack {stack}`",
    )


def run_mutations(
    stack: str,
    *,
    selected: Sequence[str] = (),
    workdir: Path,
    progress: Callable[[Outcome], None] = lambda _outcome: None,
) -> MutationRun:
    """Each mutant in turn on the live realm: apply, run the suite, restore (always, even on Ctrl-C)."""
    if stack != LOCAL_STACK:
        raise IdpkitError(
            "mutation testing weakens the live realm; it runs against the local stack only",
            exit_code=ExitCode.USAGE,
        )
    chosen = [m for m in mutants() if not selected or m.name in selected]
    if unknown := set(selected) - {m.name for m in chosen}:
        raise IdpkitError(f"unknown mutants: {', '.join(sorted(unknown))}", exit_code=ExitCode.USAGE)
    session = engine.Session.open(load_outputs(stack))
    started = time.monotonic()
    restore(session, stack)
    baseline = [failure["test"] for failure in _failures(stack, workdir / "baseline", ())]
    unstable: list[str] = []
    outcomes = []
    for mutant in chosen:
        mutant_started = time.monotonic()
        caught_by = _caught_by(stack, session, mutant, workdir / mutant.name, baseline, unstable)
        outcome = Outcome(mutant, caught_by, time.monotonic() - mutant_started)
        outcomes.append(outcome)
        progress(outcome)
    return MutationRun(outcomes, time.monotonic() - started, baseline, unstable)


def _caught_by(
    stack: str, session: engine.Session, mutant: Mutant, directory: Path, baseline: list[str], unstable: list[str]
) -> str | None:
    """The check and test that failed against the mutant and passes again on the restored realm.

    A test that also fails on the codified realm did not catch anything: it is recorded as unstable,
    left out, and the mutant is tried again without it.
    """
    for attempt in range(MAX_ATTEMPTS):
        try:
            mutant.apply(session.realm)
            deselect = [argument for test in (*baseline, *unstable) for argument in ("--deselect", test)]
            failed = _failures(stack, directory / f"attempt-{attempt}", ("-x", *deselect, *mutant.suite_args))
        finally:
            restore(session, stack)
        if not failed:
            return None
        catcher = failed[0]
        if not _failures(stack, directory / f"confirm-{attempt}", mutant.suite_args, tests=(catcher["test"],)):
            return f"{catcher['check']} {catcher['test']}"
        unstable.append(catcher["test"])
    raise IdpkitError(f"mutant {mutant.name}: {MAX_ATTEMPTS} catching tests in a row also failed unmutated")


def _failures(
    stack: str, directory: Path, extra_args: Sequence[str], *, tests: Sequence[str] = ()
) -> list[dict[str, str]]:
    """The failed tests (check, test node id), in run order (with -x: at most the first, the catcher)."""
    directory.mkdir(parents=True, exist_ok=True)
    results = directory / "results.json"
    results.unlink(missing_ok=True)
    run = run_suite(
        stack, [*SUITE_ARGS, *extra_args], junit=directory / "junit.xml", results=results, quiet=True, tests=tests
    )
    failed = (
        [r for r in json.loads(results.read_text())["results"] if r["outcome"] == "failed"] if results.exists() else []
    )
    # A collection error or crash fails no test: counting it as "nothing failed" would let every mutant survive.
    if run.exit_code not in (PYTEST_PASSED, PYTEST_FAILED) or (run.exit_code == PYTEST_FAILED) != bool(failed):
        raise IdpkitError(
            f"the smoke suite did not run cleanly (pytest exit {run.exit_code}, {len(failed)} failed tests recorded)",
            hint=f"run `idpkit smoke --stack {stack}` to see why; artifacts in {directory}",
        )
    return failed
