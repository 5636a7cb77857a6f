"""Tokens issued and validated without pause while a full scheduled rotation runs; failures must be 0.

Usage: python benchmarks/rotation_load.py [--stack local] [--workers 4] [--algorithm PS256] [--signing kms]

`--signing kms` (a local stack up with `--signing kms`): the keys are created in the KMS emulation and
Keycloak signs every token through it.

A throwaway realm (`keys-load`, deleted at the end) with 10 s access tokens and 12 s sessions keeps
the passive window short. Worker threads on loopback request client-credentials tokens and validate
them as a resource server does: PyJWKClient against the realm's JWKS, cached, refetched on an
unknown kid. Every token is validated when issued and re-validated until it expires (tokens are
replayed throughout their life). Meanwhile the main thread runs the kit's own stages through
`KeyManager` (the code behind `idpkit keys`): rotate (publish), wait out the margin, rotate
(activate, demote), wait out the passive window, retire (disable, remove). Bounded: it stops after
the retire plus a short tail, or at --max-seconds.
"""

from __future__ import annotations

import argparse
import random
import shutil
import ssl
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import requests

from idpkit.keycloak_admin import AdminApi, connect, urls
from idpkit.keys.kms import local_kms
from idpkit.keys.live import LiveRealm
from idpkit.keys.rotation import KeyManager
from idpkit.keys.store import LocalKeyStore
from idpkit.outputs import StackOutputs, load_admin_credentials, load_outputs
from idpkit.realm.bootstrap import create_delegated_realm

REALM = "keys-load"
CLIENT = ("load-service", "load-service-secret-0123456789")
ACCESS_SECONDS, SESSION_SECONDS = 10, 12
TAIL_SECONDS = 3.0
EXPIRY_GUARD_SECONDS = 1.0
"""Tokens this close to `exp` are not replayed: an expired token failing is not a rotation failure."""


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0
    issue_failures: int = 0
    validations: int = 0
    failed: int = 0
    kids: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="local")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--algorithm", choices=("PS256", "ES256"), default="PS256")
    parser.add_argument(
        "--margin",
        type=int,
        default=31,
        help="idpkit keys --margin: must exceed the resource server's JWKS refetch cooldown (PyJWKClient: 30 s)",
    )
    parser.add_argument("--max-seconds", type=float, default=150.0)
    parser.add_argument("--signing", choices=("imported", "kms"), default="imported")
    args = parser.parse_args()
    outputs = load_outputs(args.stack)
    master = AdminApi(connect(outputs, load_admin_credentials(outputs)), "master")
    store_dir = Path(tempfile.mkdtemp(prefix="rotation-load-"))
    _create_realm(outputs, master, args.algorithm)
    try:
        return _run(outputs, master, store_dir, args)
    finally:
        master.drop_realm(REALM)
        shutil.rmtree(store_dir)


def _run(outputs: StackOutputs, master: AdminApi, store_dir: Path, args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.max_seconds
    kms = local_kms(args.stack) if args.signing == "kms" else None

    def manager() -> KeyManager:
        live = LiveRealm(AdminApi(master.connection, REALM))
        return KeyManager(live, LocalKeyStore(store_dir), algorithm=args.algorithm, margin_seconds=args.margin, kms=kms)

    # Baseline: one kit key signing, Keycloak's fallback key gone (as after the first rollout).
    _token(requests.Session(), outputs)
    KeyManager(
        LiveRealm(AdminApi(master.connection, REALM)),
        LocalKeyStore(store_dir),
        algorithm=args.algorithm,
        margin_seconds=0,
        kms=kms,
    ).rotate()
    manager().retire(force=True)
    tally, stop = Tally(), threading.Event()
    workers = [threading.Thread(target=_work, args=(outputs, tally, stop), daemon=True) for _ in range(args.workers)]
    for worker in workers:
        worker.start()
    started = time.monotonic()
    time.sleep(2.0)
    phases = {"publish": _timed(lambda: manager().rotate())}
    publish_wait = float((manager().status().rotation or {}).get("activate_due_in_seconds", 0)) + 0.5
    time.sleep(max(0.0, min(publish_wait, deadline - time.monotonic())))
    phases["activate"] = _timed(lambda: manager().rotate())
    due = manager().status().rotation or {}
    wait = float(due.get("retire_due_in_seconds", 0)) + 0.5
    time.sleep(max(0.0, min(wait, deadline - time.monotonic())))
    phases["retire"] = _timed(lambda: manager().retire())
    time.sleep(min(TAIL_SECONDS, max(0.0, deadline - time.monotonic())))
    stop.set()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    print(
        f"rotation under load: realm {REALM}, {args.algorithm}, signing {args.signing}, "
        f"{args.workers} workers, {elapsed:.1f} s"
    )
    print(
        f"  stages: publish {phases['publish']:.2f} s, wait {publish_wait:.1f} s, activate+demote "
        f"{phases['activate']:.2f} s, passive window {wait:.1f} s, retire {phases['retire']:.2f} s"
    )
    print(f"  tokens issued: {tally.issued} ({tally.issued / elapsed:.1f}/s), issue failures: {tally.issue_failures}")
    print(f"  validations: {tally.validations} (each token at issue and replayed until expiry)")
    print(f"  tokens per kid: {dict(tally.kids)}")
    print(f"  failed validations: {tally.failed}")
    for error, count in tally.errors.most_common(5):
        print(f"    {count} x {error}")
    return 0 if tally.failed == 0 and tally.issue_failures == 0 else 1


def _work(outputs: StackOutputs, tally: Tally, stop: threading.Event) -> None:
    session = requests.Session()
    jwks = jwt.PyJWKClient(
        f"{outputs.base_url}/realms/{REALM}/protocol/openid-connect/certs",
        ssl_context=ssl.create_default_context(cafile=outputs.ca_bundle),
    )
    live: list[tuple[str, float]] = []
    issuer = f"{outputs.base_url}/realms/{REALM}"
    while not stop.is_set():
        try:
            token = _token(session, outputs)
        except (requests.RequestException, KeyError) as error:
            with tally.lock:
                tally.issue_failures += 1
                tally.errors[f"issue: {type(error).__name__}"] += 1
            continue
        header = jwt.get_unverified_header(token)
        exp = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        live = [(t, e) for t, e in live if e - time.time() > EXPIRY_GUARD_SECONDS] + [(token, exp)]
        replay = random.choice(live)[0]  # noqa: S311 - picking a token to replay, not a secret
        for candidate in (token, replay):
            ok, error_name = _validate(jwks, candidate, issuer)
            with tally.lock:
                tally.validations += 1
                if not ok:
                    tally.failed += 1
                    tally.errors[f"validate: {error_name}"] += 1
        with tally.lock:
            tally.issued += 1
            tally.kids[header["kid"][:8]] += 1


def _validate(jwks: jwt.PyJWKClient, token: str, issuer: str) -> tuple[bool, str]:
    try:
        key = jwks.get_signing_key_from_jwt(token)
        jwt.decode(token, key, algorithms=["PS256", "ES256"], issuer=issuer, options={"verify_aud": False})
    except jwt.PyJWTError as error:
        return False, f"{type(error).__name__}: {error}"
    return True, ""


def _token(session: requests.Session, outputs: StackOutputs) -> str:
    response = session.post(
        f"{outputs.base_url}/realms/{REALM}/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT[0], "client_secret": CLIENT[1]},
        verify=outputs.tls_verify, timeout=10,
    )  # fmt: skip
    response.raise_for_status()
    return str(response.json()["access_token"])


def _timed(step: Callable[[], object]) -> float:
    started = time.monotonic()
    step()
    return time.monotonic() - started


def _create_realm(outputs: StackOutputs, master: AdminApi, algorithm: str) -> None:
    create_delegated_realm(outputs, {
        "realm": REALM, "enabled": True, "sslRequired": "all", "defaultSignatureAlgorithm": algorithm,
        "accessTokenLifespan": ACCESS_SECONDS, "accessTokenLifespanForImplicitFlow": ACCESS_SECONDS,
        "ssoSessionIdleTimeout": SESSION_SECONDS, "ssoSessionMaxLifespan": SESSION_SECONDS,
        "offlineSessionIdleTimeout": SESSION_SECONDS,
    })  # fmt: skip
    master.post(AdminApi(master.connection, REALM).path(urls.CLIENTS), {
        "clientId": CLIENT[0], "secret": CLIENT[1], "publicClient": False,
        "serviceAccountsEnabled": True, "standardFlowEnabled": False,
    })  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
