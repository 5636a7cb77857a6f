"""Realm signing keys held in KMS: Keycloak signs through the kit's provider, on the real local stack.

The stack runs with `--signing kms` (its KMS emulation: moto corrected to AWS's semantics). Besides it,
each test module run starts two emulations of its own on loopback: moto exactly as shipped (ES256 end to
end through moto as it is; its PS256 signatures, salted unlike AWS KMS, must be refused, not issued) and
a corrected one that hands the test every private key it creates, so the search for key material knows
the exact bytes. Keys are created by the kit's own rotation (`idpkit keys rotate --signing kms`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from idpkit.keycloak_admin import AdminApi
from idpkit.keys.kms import KMS_ENDPOINT_ENV
from idpkit.local.kms_emulation import EMULATION_CREDENTIALS, EMULATION_REGION
from idpkit.local.layout import LocalLayout
from idpkit.outputs import StackOutputs
from tests.conftest import idpkit
from tests.keys.conftest import LOGIN, MARGIN_SECONDS, SERVICE, USER, Probe, open_probe

pytestmark = pytest.mark.local_stack


@dataclass(frozen=True)
class Emulation:
    endpoint: str
    keys_dir: Path | None


def _start_emulation(port: int, *flags: str) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "idpkit.local.kms_emulation", "--port", str(port), *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1)
            return process, endpoint
        except requests.RequestException:
            time.sleep(0.3)
    process.terminate()
    pytest.fail(f"KMS emulation on port {port} did not start")


@pytest.fixture(scope="module")
def kms_stack(live_stack: StackOutputs) -> Iterator[StackOutputs]:
    """The local stack signing through its KMS emulation; back to imported keys afterwards."""
    idpkit("local", "up", "--signing", "kms", "--json")
    yield live_stack
    idpkit("local", "up", "--signing", "imported", "--json")


@pytest.fixture(scope="module")
def emulations(kms_stack: StackOutputs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Emulation]]:
    base = LocalLayout.for_stack().ports.kms
    keys_dir = tmp_path_factory.mktemp("kms-private-keys")
    as_shipped, shipped_endpoint = _start_emulation(base + 1, "--as-shipped")
    exporting, exporting_endpoint = _start_emulation(base + 2, "--export-private-keys", str(keys_dir))
    yield {"as-shipped": Emulation(shipped_endpoint, None), "corrected": Emulation(exporting_endpoint, keys_dir)}
    for process in (as_shipped, exporting):
        process.terminate()
        process.wait(timeout=30)


def _probe(outputs: StackOutputs, name: str, algorithm: str, store: Path) -> Probe:
    probe = open_probe(outputs, name, algorithm, store)
    probe.token()  # Keycloak's fallback key first, as on a realm that already served tokens
    return probe


def _rotate_in(probe: Probe, endpoint: str | None) -> None:
    """The kit's scheduled rotation (publish, then activate) with the keys created in `endpoint`."""
    env = {KMS_ENDPOINT_ENV: endpoint} if endpoint else {}
    for attempt in range(2):
        if attempt:
            time.sleep(float(MARGIN_SECONDS) + 0.2)
        completed = subprocess.run(
            [sys.executable, "-m", "idpkit", *probe._argv(("rotate", "--signing", "kms"))],
            capture_output=True, text=True, timeout=120, check=False, env={**os.environ, **env},
        )  # fmt: skip
        assert completed.returncode == 0, f"keys rotate --signing kms on {probe.realm}: {completed.stderr}"


def _token_response(probe: Probe) -> requests.Response:
    return requests.post(
        f"{probe.realm_url}/protocol/openid-connect/token",
        verify=probe.outputs.tls_verify,
        data={"grant_type": "client_credentials", "client_id": SERVICE[0], "client_secret": SERVICE[1]},
        timeout=60,
    )


@pytest.fixture(scope="module")
def es256_stock(
    kms_stack: StackOutputs, emulations: dict[str, Emulation], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Probe]:
    probe = _probe(kms_stack, "kms-es256-stock", "ES256", tmp_path_factory.mktemp("store-es"))
    _rotate_in(probe, emulations["as-shipped"].endpoint)
    yield probe
    AdminApi(probe.admin.connection, "master").drop_realm(probe.realm)


@pytest.fixture(scope="module")
def ps256_corrected(
    kms_stack: StackOutputs, emulations: dict[str, Emulation], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Probe]:
    probe = _probe(kms_stack, "kms-ps256", "PS256", tmp_path_factory.mktemp("store-ps"))
    _rotate_in(probe, emulations["corrected"].endpoint)
    yield probe
    AdminApi(probe.admin.connection, "master").drop_realm(probe.realm)


def _kms_key(probe: Probe) -> dict[str, object]:
    status = probe.keys_json("status", "--signing", "kms")
    return next(key for key in status["keys"] if key["status"] == "ACTIVE" and key["generation"])


def test_es256_token_signed_through_moto_as_shipped_verifies_against_jwks(es256_stock: Probe) -> None:
    token = es256_stock.token()
    assert jwt.get_unverified_header(token)["kid"] == _kms_key(es256_stock)["kid"], "token not signed by the KMS key"
    assert es256_stock.validate(token)["iss"] == es256_stock.realm_url


def test_the_signing_key_is_the_kms_provider(es256_stock: Probe) -> None:
    assert _kms_key(es256_stock)["provider"] == "idpkit-kms", "the signing component is not the KMS key provider"


def test_ps256_token_signed_with_the_aws_salt_verifies_against_jwks(ps256_corrected: Probe) -> None:
    token = ps256_corrected.token()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "PS256" and header["kid"] == _kms_key(ps256_corrected)["kid"]
    assert ps256_corrected.validate(token)["iss"] == ps256_corrected.realm_url


def test_ps256_from_moto_as_shipped_is_refused_not_issued(
    kms_stack: StackOutputs,
    emulations: dict[str, Emulation],
    tmp_path_factory: pytest.TempPathFactory,
    local_layout: LocalLayout,
) -> None:
    """moto's maximum-salt PSS fails JWS verifiers; the provider checks each signature and issues nothing."""
    probe = _probe(kms_stack, "kms-ps256-stock", "PS256", tmp_path_factory.mktemp("store-ps-stock"))
    try:
        _rotate_in(probe, emulations["as-shipped"].endpoint)
        response = _token_response(probe)
        assert response.status_code >= 400, f"{probe.realm}: a token was issued with moto's PS256 salt"
        assert "does not verify under the published public key" in local_layout.keycloak_log.read_text()
    finally:
        AdminApi(probe.admin.connection, "master").drop_realm(probe.realm)


def test_emergency_rotation_disables_the_kms_key(
    kms_stack: StackOutputs, tmp_path_factory: pytest.TempPathFactory
) -> None:
    probe = _probe(kms_stack, "kms-emergency", "ES256", tmp_path_factory.mktemp("store-emergency"))
    try:
        _rotate_in(probe, None)
        old = _kms_key(probe)
        store = (probe.store / f"{probe.realm}.json").read_text()
        arn = next(line.split('"')[3] for line in store.splitlines() if '"kms_key_arn": "arn:' in line)
        old_token = probe.token()
        probe.keys("emergency-rotate", "--signing", "kms", "--yes")
        kms = boto3.client("kms", endpoint_url=LocalLayout.for_stack().kms_endpoint, region_name=EMULATION_REGION,
                           **{name.lower(): value for name, value in EMULATION_CREDENTIALS.items()})  # fmt: skip
        state = kms.describe_key(KeyId=arn.rsplit("/", 1)[-1])["KeyMetadata"]["KeyState"]
        assert state in ("Disabled", "PendingDeletion"), f"compromised KMS key {arn} still {state}"
        assert old["kid"] not in probe.jwks_kids(), "the compromised kid is still published"
        with pytest.raises(jwt.PyJWKClientError):
            probe.validate(old_token)
        assert probe.validate(probe.token())["iss"] == probe.realm_url
    finally:
        AdminApi(probe.admin.connection, "master").drop_realm(probe.realm)


def test_key_service_stopped_fails_closed_and_status_says_why(
    kms_stack: StackOutputs, tmp_path_factory: pytest.TempPathFactory, local_layout: LocalLayout
) -> None:
    probe = _probe(kms_stack, "kms-outage", "ES256", tmp_path_factory.mktemp("store-outage"))
    emulation = local_layout.process("kms").pid()
    assert emulation is not None, "the stack's KMS emulation is not running"
    try:
        _rotate_in(probe, None)
        probe.token()
        os.kill(emulation, signal.SIGSTOP)  # the key service stops answering (connections hang, as in an outage)
        try:
            started = time.monotonic()
            response = _token_response(probe)
            seconds = time.monotonic() - started
            status = idpkit("local", "status", "--json", check=False)
        finally:
            os.kill(emulation, signal.SIGCONT)
        assert response.status_code >= 400, f"{probe.realm}: a token was issued while KMS did not answer"
        assert "access_token" not in response.text
        assert seconds < 15, f"the failed token request took {seconds:.1f} s: timeouts and retries are not bounded"
        assert status.returncode == 3, "local status does not report the stack unhealthy while KMS is down"
        assert "does not answer" in status.stdout, f"local status does not say why: {status.stdout}"
        assert "no token signed with kid" in local_layout.keycloak_log.read_text(), "Keycloak's log does not say why"
        time.sleep(2.5)  # the provider's open circuit (2 s) ends
        assert probe.validate(probe.token())["iss"] == probe.realm_url, "signing did not recover with KMS"
    finally:
        AdminApi(probe.admin.connection, "master").drop_realm(probe.realm)


# --- no private key material anywhere ------------------------------------------------------------


def _needles(pkcs8: bytes) -> dict[str, bytes]:
    """The secret numbers of a private key (EC: d; RSA: p and q): whatever encoding a leak uses contains them."""
    key = serialization.load_der_private_key(pkcs8, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"ec d": key.private_numbers().private_value.to_bytes(32, "big")}
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    return {
        name: value.to_bytes((value.bit_length() + 7) // 8, "big")
        for name, value in (("rsa p", numbers.p), ("rsa q", numbers.q))
    }


_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{40,}={0,2}")


def _decodings(content: bytes) -> Iterator[bytes]:
    """The file itself, its hex-decoded and every base64/base64url run decoded (PKCS#8, SEC1, JWK, PEM bodies)."""
    yield content
    for run in _BASE64_RUN.findall(content):
        padded = run.rstrip(b"=") + b"=" * (-len(run.rstrip(b"=")) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                yield decode(padded)
            except ValueError:
                continue


def _files_holding(roots: list[Path], needles: dict[str, bytes]) -> list[str]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            content = path.read_bytes()
            hex_forms = {name: needle.hex().encode() for name, needle in needles.items()}
            for name, needle in needles.items():
                if hex_forms[name] in content.lower() or any(needle in form for form in _decodings(content)):
                    found.append(f"{path}: {name}")
    return found


def test_no_private_signing_key_in_keycloaks_database_disk_or_key_store(
    ps256_corrected: Probe, emulations: dict[str, Emulation], local_layout: LocalLayout
) -> None:
    ps256_corrected.token()
    keys_dir = emulations["corrected"].keys_dir
    assert keys_dir is not None
    private_keys = sorted(keys_dir.glob("*.pk8"))
    assert private_keys, "the emulation created no key: the search would prove nothing"
    roots = [local_layout.root, ps256_corrected.store]
    for private_key in private_keys:
        leaks = _files_holding(roots, _needles(private_key.read_bytes()))
        assert not leaks, f"private signing key {private_key.stem} found on disk: {leaks}"


def test_the_search_finds_an_imported_key_in_keycloaks_database(
    kms_stack: StackOutputs, tmp_path_factory: pytest.TempPathFactory, local_layout: LocalLayout
) -> None:
    """Positive control: the same search finds an imported key's private key in Keycloak's database."""
    probe = _probe(kms_stack, "kms-control", "ES256", tmp_path_factory.mktemp("store-control"))
    try:
        probe.keys("rotate", "--signing", "imported")
        stored = json.loads((probe.store / f"{probe.realm}.json").read_text())["realms"][probe.realm]["keys"][0]
        pem = stored["material"]["private_key_pem"].encode()
        pkcs8 = serialization.load_pem_private_key(pem, None).private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        data = local_layout.keycloak_home / "data"
        deadline = time.monotonic() + 15  # the embedded database writes its pages within a few seconds
        while not (found := _files_holding([data], _needles(pkcs8))) and time.monotonic() < deadline:
            time.sleep(1)
        assert found, "the search did not find an imported key's private key in Keycloak's data"
    finally:
        AdminApi(probe.admin.connection, "master").drop_realm(probe.realm)


# --- no signing key of Keycloak's own once the KMS key signs ---------------------------------------

KEY_PROVIDER = "org.keycloak.keys.KeyProvider"
SIGNING_ATTRIBUTE = "access.token.signed.response.alg"
NOT_TOKEN_SIGNING = {"rsa-enc-generated", "aes-generated", "hmac-generated"}
"""Keycloak's keys that stay on a KMS stack: encryption, and HS512 for its own internal tokens (docs/aws.md)."""


@pytest.fixture(scope="module")
def kms_only(kms_stack: StackOutputs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Probe, list[str]]]:
    """A realm that served tokens (Keycloak minted `fallback-PS256`) rotated to KMS, then retired (forced: the
    probe realm's window is seconds, the test does not wait it); yields the probe and the retirement's actions."""
    probe = _probe(kms_stack, "kms-only", "PS256", tmp_path_factory.mktemp("store-kms-only"))
    _rotate_in(probe, None)
    retired = probe.keys_json("retire", "--signing", "kms", "--force")
    yield probe, retired["actions"]
    AdminApi(probe.admin.connection, "master").drop_realm(probe.realm)


def _flows(probe: Probe) -> dict[str, str]:
    """Every token the realm signs in the probe's flows: client credentials, password grant and refresh (access, ID)."""
    tokens = {"client credentials access token": probe.token()}
    login = probe._token({"grant_type": "password", "username": USER[0], "password": USER[1], "scope": "openid"}, LOGIN)
    tokens |= {"password access token": login["access_token"], "password ID token": login["id_token"]}
    refreshed = probe.refresh(login["refresh_token"])
    assert refreshed.status_code == 200, f"{probe.realm}: refresh failed: {refreshed.text}"
    tokens |= {
        "refreshed access token": refreshed.json()["access_token"],
        "refreshed ID token": refreshed.json()["id_token"],
    }
    return tokens


def _held_by_keycloak(probe: Probe) -> list[str]:
    held: list[str] = probe.keys_json("status", "--signing", "kms")["held_by_keycloak"]
    return held


def test_retiring_removes_keycloaks_generated_signing_keys(kms_only: tuple[Probe, list[str]]) -> None:
    probe, actions = kms_only
    removed = " ".join(actions)
    for generated in ("fallback-PS256", "rsa-generated"):
        assert f"removed {generated}" in removed, f"{probe.realm}: retirement did not remove {generated}: {actions}"
    again = probe.keys_json("retire", "--signing", "kms", "--force")
    assert not again["actions"] and not again["writes"], f"{probe.realm}: a second retire changed {again['actions']}"


def test_flows_sign_only_with_kms_and_mint_no_fallback_key(kms_only: tuple[Probe, list[str]]) -> None:
    probe, _actions = kms_only
    kms_kid = _kms_key(probe)["kid"]
    for name, token in _flows(probe).items():
        assert jwt.get_unverified_header(token)["kid"] == kms_kid, f"{probe.realm}: {name} not signed by the KMS key"
        assert probe.validate(token)["iss"] == probe.realm_url, f"{probe.realm}: {name} does not verify against JWKS"
    assert _held_by_keycloak(probe) == [], f"{probe.realm}: Keycloak holds signing keys after the flows"
    components = probe.admin.keycloak.get_components({"type": KEY_PROVIDER})
    signing = {
        c["id"]: f"{c['name']} ({c['providerId']})" for c in components if c["providerId"] not in NOT_TOKEN_SIGNING
    }
    kms = {c["id"] for c in components if c["providerId"] == "idpkit-kms"}
    assert set(signing) == kms, f"{probe.realm}: signing key components besides KMS: {signing}"
    published = probe.admin.keycloak.get_keys()["keys"]
    not_kms = [
        key for key in published if key.get("use") == "SIG" and key["type"] != "OCT" and key["providerId"] not in kms
    ]
    assert not not_kms, f"{probe.realm}: Keycloak publishes signing keys not in KMS: {not_kms}"
    jwks = requests.get(f"{probe.realm_url}/protocol/openid-connect/certs", verify=probe.outputs.tls_verify, timeout=10)
    algorithms = {key.get("alg") for key in jwks.json()["keys"] if key.get("use") == "sig"}
    assert "RS256" not in algorithms and algorithms <= {"PS256", "ES256"}, (
        f"{probe.realm}: JWKS signs with {algorithms}"
    )


def test_a_signing_key_of_keycloaks_own_is_caught(kms_only: tuple[Probe, list[str]]) -> None:
    """The mutant: Keycloak's default RS256 key put back; the check above must see it."""
    probe, _actions = kms_only
    realm_id = probe.admin.keycloak.get_realm(probe.realm)["id"]
    component = probe.admin.keycloak.create_component({
        "name": "rsa-generated", "providerId": "rsa-generated", "providerType": KEY_PROVIDER, "parentId": realm_id,
        "config": {"priority": ["100"], "algorithm": ["RS256"]},
    })  # fmt: skip
    try:
        assert _held_by_keycloak(probe) == ["rsa-generated (rsa-generated)"], "a re-added rsa-generated went unseen"
    finally:
        probe.admin.keycloak.delete_component(component)
    assert _held_by_keycloak(probe) == [], f"{probe.realm}: the mutant key was not removed"


def test_an_algorithm_kms_does_not_serve_is_refused_before_any_write(kms_only: tuple[Probe, list[str]]) -> None:
    probe, _actions = kms_only
    client = str(probe.admin.keycloak.get_client_id(LOGIN[0]))
    representation = probe.admin.keycloak.get_client(client)
    representation.setdefault("attributes", {})[SIGNING_ATTRIBUTE] = "RS256"
    probe.admin.keycloak.update_client(client, representation)
    before = probe.admin.keycloak.get_components({"type": KEY_PROVIDER})
    try:
        refused = probe.keys("rotate", "--signing", "kms", check=False)
        assert refused.returncode == 64, f"{probe.realm}: rotate with an RS256 client exited {refused.returncode}"
        assert f"RS256 (client {LOGIN[0]} {SIGNING_ATTRIBUTE})" in refused.stderr, refused.stderr
        assert probe.admin.keycloak.get_components({"type": KEY_PROVIDER}) == before, "the refused rotation wrote"
    finally:
        representation["attributes"].pop(SIGNING_ATTRIBUTE)
        probe.admin.keycloak.update_client(client, representation)
