"""The kit admin's client authentication: a private_key_jwt assertion (RFC 7523 §2.2), signed per token request.

The key is the kit's own (generated at bootstrap, `idpkit.realm.bootstrap`); only its public half is in
Keycloak. An assertion lives a minute and carries a unique `jti`, so a copy seen in transit or in a
log cannot be replayed.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import requests

from idpkit.errors import IdpkitError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHM = "ES256"
_LIFETIME_SECONDS = 60
_TIMEOUT_SECONDS = 30


def issuer(admin_url: str, realm: str, verify: str | bool) -> str:
    """The realm's issuer as Keycloak advertises it: the audience it accepts in assertions. Master's issuer is on
    Keycloak's public hostname even when reached on the admin URL, so it is read, never derived."""
    url = f"{admin_url.rstrip('/')}/realms/{realm}/.well-known/openid-configuration"
    try:
        response = requests.get(url, verify=verify, timeout=_TIMEOUT_SECONDS)
        response.raise_for_status()
        return str(response.json()["issuer"])
    except (requests.RequestException, ValueError, KeyError) as error:
        raise IdpkitError(f"{url}: cannot read the realm's issuer ({error})") from error


def claims(client_id: str, audience: str, lifetime: int = _LIFETIME_SECONDS) -> dict[str, Any]:
    """A client assertion's claims (RFC 7523 §3): iss = sub = the client, a unique jti, a short life."""
    now = int(time.time())
    return {"iss": client_id, "sub": client_id, "aud": audience, "jti": str(uuid.uuid4()), "iat": now,
            "exp": now + lifetime}  # fmt: skip


def signed(client_id: str, private_key_pem: str, key_id: str | None, audience: str) -> str:
    """A fresh client assertion for `client_id`, addressed to the token endpoint `audience`."""
    headers = {"kid": key_id} if key_id else None
    return jwt.encode(claims(client_id, audience), private_key_pem, algorithm=ALGORITHM, headers=headers)


def form(client_id: str, private_key_pem: str, key_id: str | None, audience: str) -> dict[str, str]:
    """The token request's client-authentication fields."""
    return {
        "client_id": client_id,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed(client_id, private_key_pem, key_id, audience),
    }
