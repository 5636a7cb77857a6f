"""DPoP proofs as the smoke suite makes them (RFC 9449 §4.2), checked offline with an independent verifier."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import jwt
import pytest
import requests
from jwt.algorithms import ECAlgorithm

from idpkit.smoke import oauth

URL = "https://idp.example/realms/phi/protocol/openid-connect/userinfo"


def _verified(proof: str) -> tuple[dict[str, object], dict[str, object]]:
    header = jwt.get_unverified_header(proof)
    public_key = ECAlgorithm.from_jwk(json.dumps(header["jwk"]))
    return header, jwt.decode(proof, public_key, algorithms=["ES256"])  # type: ignore[arg-type]


def test_proof_is_signed_by_the_key_in_its_header_and_names_the_request() -> None:
    key = oauth.DPoPKey.generate()
    header, claims = _verified(key.proof("get", f"{URL}?x=1#f", access_token="token-value"))
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256", f"proof header {header} is not a DPoP header"
    assert "d" not in header["jwk"], "the proof's jwk header carries the private key"  # type: ignore[operator]
    assert (claims["htm"], claims["htu"]) == ("GET", URL), f"htm/htu {claims} do not name the request without query"
    expected_ath = oauth.b64url(hashlib.sha256(b"token-value").digest())
    assert claims["ath"] == expected_ath, "ath is not the base64url SHA-256 of the access token"


def test_every_proof_has_its_own_jti() -> None:
    key = oauth.DPoPKey.generate()
    jtis = {_verified(key.proof("POST", URL))[1]["jti"] for _ in range(20)}
    assert len(jtis) == 20, "proofs reuse a jti: the server would refuse them as replays"


def test_thumbprint_is_the_rfc7638_hash_of_the_required_members() -> None:
    key = oauth.DPoPKey.generate()
    members = {name: key.jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = '{"crv":"%s","kty":"%s","x":"%s","y":"%s"}' % tuple(members.values())  # noqa: UP031
    assert key.thumbprint == oauth.b64url(hashlib.sha256(canonical.encode()).digest())


def _response(status: int, body: Mapping[str, str], headers: Mapping[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, json.dumps(body).encode()
    response.headers.update(headers)
    return response


@pytest.mark.parametrize(
    "demand",
    [
        _response(400, {"error": oauth.DPOP_NONCE_ERROR}, {oauth.DPOP_NONCE_HEADER: "n-1"}),
        _response(401, {}, {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', oauth.DPOP_NONCE_HEADER: "n-1"}),
    ],
    ids=["token-endpoint", "resource"],
)
def test_a_demanded_nonce_is_sent_once_in_a_fresh_proof(demand: requests.Response) -> None:
    key, sent = oauth.DPoPKey.generate(), []

    def send(headers: Mapping[str, str]) -> requests.Response:
        sent.append(_verified(headers[oauth.DPOP])[1])
        return demand if len(sent) == 1 else _response(200, {}, {})

    assert oauth.with_proof(key, send, "POST", URL).status_code == 200
    assert [claims.get("nonce") for claims in sent] == [None, "n-1"], "the nonce was not sent after the demand"
    assert sent[0]["jti"] != sent[1]["jti"], "the retry reused the first proof"
