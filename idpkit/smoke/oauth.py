"""Client-side OAuth 2.0 / OpenID Connect helpers for the smoke suite and the benchmarks.

Everything a relying party does, without a browser: PKCE pairs, driving Keycloak's login and consent
pages with one `requests` session per user agent, private_key_jwt client assertions, DPoP proofs of
public clients (RFC 9449), token requests, and full validation of the tokens against the realm's JWKS.
Nothing here prints a token or secret: errors name the endpoint, the client and the rule broken.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from idpkit.keycloak_admin import assertion

CLIENT_ASSERTION_TYPE = assertion.ASSERTION_TYPE
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TIMEOUT = 15
BEARER = "Bearer"
DPOP = "DPoP"
"""The token type (RFC 9449 §5), the authorization scheme (§7.1) and the proof's header name (§4.1) alike."""
DPOP_PROOF_TYPE = "dpop+jwt"
DPOP_NONCE_ERROR = "use_dpop_nonce"
DPOP_NONCE_HEADER = "DPoP-Nonce"
# Keycloak's login, consent and device pages are found by their forms; nothing else is parsed.
_LOGIN_FORM = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.DOTALL)
_CONSENT_FORM = re.compile(r'<form[^>]*action="([^"]*/login-actions/consent[^"]*)"', re.DOTALL)
_HIDDEN_CODE = re.compile(r'<input[^>]*name="code"[^>]*value="([^"]*)"')
_OTP_FORM = re.compile(r'<form[^>]*id="kc-otp-login-form"[^>]*action="([^"]+)"', re.DOTALL)
# What a page asks of the person when it is not a form the user agent fills in (a second factor it lacks).
WEBAUTHN_PAGE = 'id="webauth"'
TOTP_ENROLMENT_PAGE = 'id="kc-totp-settings-form"'
_MAX_PAGES = 10


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Pkce:
    """A PKCE pair (RFC 7636); `S256` unless a test needs the weak `plain` method."""

    verifier: str
    challenge: str
    method: str = "S256"

    @classmethod
    def generate(cls, method: str = "S256") -> Pkce:
        verifier = secrets.token_urlsafe(64)
        challenge = b64url(hashlib.sha256(verifier.encode()).digest()) if method == "S256" else verifier
        return cls(verifier, challenge, method)

    @property
    def authorization_params(self) -> dict[str, str]:
        return {"code_challenge": self.challenge, "code_challenge_method": self.method}


@dataclass(frozen=True)
class Endpoints:
    """The realm's endpoints, from its discovery document; `mtls` are the RFC 8705 aliases."""

    issuer: str
    authorization: str
    pushed_authorization: str
    """Where authorization requests are pushed first (RFC 9126): the realm takes no other kind."""
    token: str
    userinfo: str
    revocation: str
    introspection: str
    end_session: str
    device_authorization: str
    jwks_uri: str
    mtls: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_discovery(cls, document: Mapping[str, Any]) -> Endpoints:
        return cls(
            issuer=document["issuer"],
            authorization=document["authorization_endpoint"],
            pushed_authorization=document["pushed_authorization_request_endpoint"],
            token=document["token_endpoint"],
            userinfo=document["userinfo_endpoint"],
            revocation=document["revocation_endpoint"],
            introspection=document["introspection_endpoint"],
            end_session=document["end_session_endpoint"],
            device_authorization=document["device_authorization_endpoint"],
            jwks_uri=document["jwks_uri"],
            mtls=dict(document.get("mtls_endpoint_aliases", {})),
        )

    @property
    def mtls_token(self) -> str:
        """Where certificate-bound tokens are requested: the M2M listener."""
        return self.mtls.get("token_endpoint", self.token)


@dataclass(frozen=True)
class ClientKey:
    """A private_key_jwt client's signing key (PEM), as the smoke credentials file holds it."""

    client_id: str
    private_key_pem: str = field(repr=False)
    kid: str
    algorithm: str = "PS256"

    @cached_property
    def private_key(self) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
        """The parsed key, once: loading validates an RSA key, which takes about half a second."""
        key = serialization.load_pem_private_key(self.private_key_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError(f"{self.client_id}: smoke credentials hold a {type(key).__name__}, not an RSA/EC key")
        return key

    @property
    def public_key_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any], client_id: str) -> ClientKey:
        entry = credentials["clients"][client_id]
        return cls(client_id, entry["private_key_pem"], entry["kid"], entry["alg"])


def client_assertion(
    key: ClientKey,
    audience: str,
    *,
    lifetime: int = 60,
    claims: Mapping[str, Any] | None = None,
    omit: Iterable[str] = (),
) -> str:
    """A signed client assertion (RFC 7523 §3): iss = sub = client_id, unique jti, short exp.

    `claims` overrides or adds claims and `omit` drops some, to build the invalid assertions of
    attack tests.
    """
    payload = assertion.claims(key.client_id, audience, lifetime) | dict(claims or {})
    for name in omit:
        payload.pop(name, None)
    return jwt.encode(payload, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})


def assertion_auth(assertion: str, client_id: str) -> dict[str, str]:
    """Form fields that authenticate a client with a private_key_jwt assertion."""
    return {"client_id": client_id, "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}


def private_key_jwt(key: ClientKey, audience: str) -> dict[str, str]:
    """Form fields for a fresh, valid private_key_jwt authentication of `key`'s client."""
    return assertion_auth(client_assertion(key, audience), key.client_id)


def _sha256(text: str) -> str:
    return b64url(hashlib.sha256(text.encode()).digest())


@dataclass(frozen=True)
class DPoPKey:
    """The key a public client proves possession of (RFC 9449): EC P-256, made per client session, never stored.

    A public client holds no secret, so its tokens are bound to this key (`cnf.jkt`): a stolen token is
    useless without a fresh proof signed by it.
    """

    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> DPoPKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @cached_property
    def jwk(self) -> dict[str, str]:
        """The public key as the proof's `jwk` header carries it."""
        numbers = self.private_key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
                "y": b64url(numbers.y.to_bytes(32, "big"))}  # fmt: skip

    @property
    def thumbprint(self) -> str:
        """The JWK SHA-256 thumbprint (RFC 7638) a bound token names in `cnf.jkt`."""
        return _sha256(json.dumps(self.jwk, sort_keys=True, separators=(",", ":")))

    def proof(self, method: str, url: str, *, access_token: str | None = None, nonce: str | None = None) -> str:
        """A fresh proof for one request: unique `jti`, `htm`/`htu` of the request, `ath` when it carries a token."""
        parts = urlsplit(url)
        claims: dict[str, Any] = {"jti": str(uuid.uuid4()), "htm": method.upper(), "iat": int(time.time()),
                                  "htu": f"{parts.scheme}://{parts.netloc}{parts.path}"}  # fmt: skip
        if access_token is not None:
            claims["ath"] = _sha256(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(
            claims, self.private_key, algorithm="ES256", headers={"typ": DPOP_PROOF_TYPE, "jwk": self.jwk}
        )


def demanded_nonce(response: requests.Response) -> str | None:
    """The nonce a server demands before it accepts a proof (RFC 9449 §8, §9), if it demands one."""
    nonce = response.headers.get(DPOP_NONCE_HEADER)
    demanded = oauth_error(response) == DPOP_NONCE_ERROR or DPOP_NONCE_ERROR in response.headers.get(
        "WWW-Authenticate", ""
    )
    return nonce if demanded else None


def with_proof(dpop: DPoPKey | None, send: Callable[[Mapping[str, str]], requests.Response], method: str, url: str,
               access_token: str | None = None) -> requests.Response:  # fmt: skip
    """Send a request with a fresh DPoP proof (none without a key); again with the nonce if the server demands one."""
    if dpop is None:
        return send({})
    response = send({DPOP: dpop.proof(method, url, access_token=access_token)})
    if (nonce := demanded_nonce(response)) is not None:
        response = send({DPOP: dpop.proof(method, url, access_token=access_token, nonce=nonce)})
    return response


def resource_request(
    method: str, url: str, access_token: str, dpop: DPoPKey | None, *, verify: str | bool,
    headers: Mapping[str, str] | None = None, cert: tuple[str, str] | None = None,
) -> requests.Response:  # fmt: skip
    """Use an access token at a protected resource: `Bearer`, or `DPoP` with a proof bound to the token (`ath`)."""
    scheme = DPOP if dpop is not None else BEARER

    def send(proof: Mapping[str, str]) -> requests.Response:
        sent = dict(headers or {}) | {"Authorization": f"{scheme} {access_token}"} | dict(proof)
        return requests.request(method, url, headers=sent, verify=verify, cert=cert, timeout=TIMEOUT)

    return with_proof(dpop, send, method, url, access_token)


@dataclass(frozen=True)
class AuthorizationResponse:
    """Where an authorization request ended: a redirect to the client, or a page of the IdP."""

    status: int
    location: str | None
    page: str
    """The last page's HTML when the IdP did not redirect back (e.g. an error page)."""
    refused_when_pushed: str | None = None
    """The OAuth error of the pushed authorization request endpoint, when it refused the request: the
    request never reached the authorization endpoint."""

    @property
    def redirected(self) -> bool:
        return self.location is not None

    @property
    def params(self) -> dict[str, str]:
        """Parameters of the redirect back, from the query and the fragment alike."""
        if self.location is None:
            return {}
        parts = urlsplit(self.location)
        merged = parse_qs(parts.query) | parse_qs(parts.fragment)
        return {name: values[0] for name, values in merged.items()}

    @property
    def code(self) -> str | None:
        return self.params.get("code")

    @property
    def asks_for_webauthn(self) -> bool:
        """The IdP stopped at a WebAuthn challenge (a second factor or step-up the agent cannot give)."""
        return not self.redirected and WEBAUTHN_PAGE in self.page

    @property
    def asks_for_one_time_code(self) -> bool:
        """The IdP stopped at its one-time code form (no code to give, or the code was refused)."""
        return not self.redirected and _OTP_FORM.search(self.page) is not None

    @property
    def error(self) -> str | None:
        """The error of the redirect back, or of the refused push."""
        return self.params.get("error") or self.refused_when_pushed


TOKEN_PARAMETERS = frozenset({"code", "access_token", "id_token", "refresh_token"})
RESPONSE_TYPE_REFUSALS = frozenset({"unauthorized_client", "unsupported_response_type"})
SCOPE_REFUSALS = frozenset({"invalid_scope"})
PUSHED_REFUSAL = "invalid_request"
"""What Keycloak's pushed authorization request endpoint answers to every request content it refuses (a scope or a
response type included), where the authorization endpoint would name the rule (RFC 6749 §4.1.2.1)."""


def refused_with(result: AuthorizationResponse, errors: frozenset[str]) -> bool:
    """Whether an authorization request got no code and was refused with one of `errors`, or refused when pushed."""
    return result.code is None and (result.error in errors or result.refused_when_pushed == PUSHED_REFUSAL)


class CodeSource(Protocol):
    """Where a user agent takes the one-time codes of its user's TOTP second factor."""

    def next_code(self) -> str: ...


@dataclass(frozen=True)
class FixedCode:
    """One given code, every time: a replayed code, in attack tests."""

    code: str = field(repr=False)

    def next_code(self) -> str:
        return self.code


class UserAgent:
    """A browser stand-in: one cookie jar, Keycloak's login, one-time code and consent forms filled in.

    Redirects inside the IdP are followed; a redirect to anywhere else (the client's redirect URI,
    which is never served) ends the walk, so its parameters can be read from the Location header.
    Without `codes` the agent stops at the one-time code form, as a person with a password alone would.
    """

    def __init__(
        self,
        verify: str | bool,
        username: str,
        password: str,
        codes: CodeSource | None = None,
        reached_at: Mapping[str, str] | None = None,
    ) -> None:
        self.session = requests.Session()
        self.verify = verify
        self.username = username
        self._password = password
        self._codes = codes
        self._reached_at = dict(reached_at or {})
        """Origin -> the origin the agent sends its requests for it to (e.g. master's pages, which name the public
        hostname, reached on the admin URL). Pages and redirects keep their own origin, so the walk still tells
        the IdP's pages from the client's redirect URI."""
        self.codes_sent: list[str] = []
        """One-time codes this agent presented, in order (replay checks present one again)."""

    def __repr__(self) -> str:  # keeps the password out of pytest's locals and tracebacks
        return f"UserAgent({self.username!r})"

    def authorize(self, endpoints: Endpoints, client: Client, params: Mapping[str, str]) -> AuthorizationResponse:
        """Push an authorization request as `client` (RFC 9126), open it, log in and grant consent if asked."""
        pushed = push(endpoints, client, params, verify=self.verify)
        if pushed.request_uri is None:
            return AuthorizationResponse(pushed.response.status_code, None, pushed.response.text, pushed.error)
        return self.authorize_unpushed(endpoints.authorization, pushed.authorization_params)

    def authorize_unpushed(self, authorization_endpoint: str, params: Mapping[str, str]) -> AuthorizationResponse:
        """Send `params` to the authorization endpoint as they are: a pushed request's reference, or (in attack
        tests) a request that was never pushed."""
        response = self._get(authorization_endpoint, params=dict(params))
        return self.walk(response, idp_origin=origin(authorization_endpoint))

    def open(self, url: str) -> AuthorizationResponse:
        """Open an IdP page (a device verification URI) and walk its login and consent forms."""
        return self.walk(self._get(url), idp_origin=origin(url))

    def submit(self, action: str, form: Mapping[str, str]) -> AuthorizationResponse:
        """Post a form of an IdP page the agent stopped at (e.g. an enrolment) and walk on from there."""
        return self.walk(self._post(action, dict(form)), idp_origin=origin(action))

    def walk(self, response: requests.Response, *, idp_origin: str) -> AuthorizationResponse:
        signed_in = coded = False
        for _ in range(_MAX_PAGES):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if origin(location) != idp_origin:
                    return AuthorizationResponse(response.status_code, location, "")
                response = self._get(location)
            elif (login := _LOGIN_FORM.search(response.text)) and signed_in:
                # The login form again: the credentials were refused. Sending them again would only count
                # more failures against the account (brute-force protection).
                return AuthorizationResponse(response.status_code, None, response.text)
            elif login:
                signed_in = True
                form = {"username": self.username, "password": self._password, "credentialId": ""}
                response = self._post(urljoin(response.url, html.unescape(login.group(1))), form)
            elif (otp := _OTP_FORM.search(response.text)) and self._codes is not None and not coded:
                coded = True  # a refused code is not retried: that would count as another failure
                code = self._codes.next_code()
                self.codes_sent.append(code)
                response = self._post(
                    urljoin(response.url, html.unescape(otp.group(1))), {"otp": code, "login": "Sign In"}
                )
            elif consent := _CONSENT_FORM.search(response.text):
                hidden = _HIDDEN_CODE.search(response.text)
                form = {"code": hidden.group(1) if hidden else "", "accept": "Yes"}
                response = self._post(urljoin(response.url, html.unescape(consent.group(1))), form)
            else:
                return AuthorizationResponse(response.status_code, None, response.text)
        raise RuntimeError(f"{idp_origin}: more than {_MAX_PAGES} pages without reaching the client")

    def _get(self, url: str, params: dict[str, str] | None = None) -> requests.Response:
        return self.session.get(
            self._reached(url), params=params, verify=self.verify, allow_redirects=False, timeout=TIMEOUT
        )

    def _post(self, url: str, data: dict[str, str]) -> requests.Response:
        return self.session.post(self._reached(url), data=data, verify=self.verify, allow_redirects=False,
                                 timeout=TIMEOUT)  # fmt: skip

    def _reached(self, url: str) -> str:
        reached = self._reached_at.get(origin(url))
        return url if reached is None else reached + url[len(origin(url)) :]


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL, lower-cased, as browsers compare origins."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def authorization_params(
    client_id: str, redirect_uri: str, scope: str, pkce: Pkce | None, **extra: str
) -> dict[str, str]:
    """A code-flow authorization request with a fresh state and nonce."""
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
    }
    if pkce is not None:
        params |= pkce.authorization_params
    return params | extra


@dataclass(frozen=True)
class PushedRequest:
    """The pushed authorization request endpoint's answer (RFC 9126 §2.2): a `request_uri`, or a refusal."""

    client_id: str
    response: requests.Response

    @property
    def request_uri(self) -> str | None:
        if self.response.status_code != 201:
            return None
        body = self.response.json()
        uri = body.get("request_uri") if isinstance(body, dict) else None
        return uri if isinstance(uri, str) else None

    @property
    def error(self) -> str | None:
        return oauth_error(self.response)

    @property
    def authorization_params(self) -> dict[str, str]:
        """What the authorization endpoint is sent, as FAPI 2.0 clients send it: the client and the reference only."""
        if self.request_uri is None:
            raise ValueError(f"{self.client_id}: its authorization request was refused when pushed ({self.error!r})")
        return {"client_id": self.client_id, "request_uri": self.request_uri}


def push(endpoints: Endpoints, client: Client, params: Mapping[str, str], *, verify: str | bool) -> PushedRequest:
    """Push an authorization request (RFC 9126 §2.1), the client authenticating itself as at the token endpoint; a
    client holding a DPoP key binds the code to it (`dpop_jkt`, RFC 9449 §10) unless `params` name a key."""
    binding = {"dpop_jkt": client.dpop.thumbprint} if client.dpop is not None else {}
    form = binding | dict(params) | client.authentication(endpoints.issuer)
    response = post_form(endpoints.pushed_authorization, form, verify=verify)
    return PushedRequest(client.client_id, response)


def pushed_authorization_url(
    endpoints: Endpoints, client: Client, params: Mapping[str, str], *, verify: str | bool
) -> str:
    """The authorization URL a browser opens for a pushed request (Chromium checks); raises if the push failed."""
    pushed = push(endpoints, client, params, verify=verify)
    return f"{endpoints.authorization}?{urlencode(pushed.authorization_params)}"


def post_form(
    url: str,
    data: Mapping[str, str],
    *,
    verify: str | bool,
    cert: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """POST a form without a session: token, revocation and introspection requests carry no cookies."""
    return requests.post(url, data=dict(data), verify=verify, cert=cert, headers=dict(headers or {}), timeout=TIMEOUT)


def issued_tokens(response: requests.Response) -> set[str]:
    """Names of the tokens a token-endpoint response carries (none, for a refusal)."""
    try:
        body = response.json()
    except ValueError:
        return set()
    return set(TOKEN_PARAMETERS & set(body)) if isinstance(body, dict) else set()


def oauth_error(response: requests.Response) -> str | None:
    """The OAuth `error` code of a JSON error response, if any."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


class TokenValidationError(Exception):
    """A token broke a validation rule; the message names the rule, never the token."""


CLOCK_READ_TOLERANCE_SECONDS = 1


@dataclass(frozen=True)
class TokenExpectations:
    """What a resource server or relying party checks about a token from this realm."""

    issuer: str
    audience: str
    authorized_party: str
    max_lifetime: int
    """Longest acceptable exp - iat, in seconds (the realm's configured lifespan)."""
    algorithms: tuple[str, ...] = ("PS256",)
    required_scopes: frozenset[str] = frozenset()
    typ: str | None = BEARER
    """The `typ` claim Keycloak sets (`Bearer`, `ID`, `Refresh`); None skips the check."""
    nonce: str | None = None


def validate_token(token: str, jwks_client: jwt.PyJWKClient, expect: TokenExpectations) -> dict[str, Any]:
    """Verify signature (with the realm's JWKS), algorithm, iss, aud, exp/iat, azp, scope and lifetime."""
    label = f"{expect.typ or 'token'} token for {expect.authorized_party}"
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in expect.algorithms:
            raise TokenValidationError(f"{label}: alg {header.get('alg')!r} is not one of {expect.algorithms}")
        signing_key = jwks_client.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key.key,
            algorithms=list(expect.algorithms),
            issuer=expect.issuer,
            audience=expect.audience,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        # PyJWT's messages name the failed rule ("Invalid issuer", "Signature has expired"), never the token.
        raise TokenValidationError(f"{label}: {type(error).__name__}: {error}") from None
    lifetime = claims["exp"] - claims["iat"]
    # Keycloak reads the clock twice, for iat (whole seconds) and for exp (milliseconds + lifespan, truncated):
    # a second boundary between the two reads makes exp - iat one more than the lifespan (TokenManager).
    if lifetime > expect.max_lifetime + CLOCK_READ_TOLERANCE_SECONDS:
        raise TokenValidationError(f"{label}: lifetime {lifetime} s exceeds the configured {expect.max_lifetime} s")
    if claims.get("azp") != expect.authorized_party:
        raise TokenValidationError(f"{label}: azp {claims.get('azp')!r} is not the requesting client")
    if expect.typ and claims.get("typ") != expect.typ:
        raise TokenValidationError(f"{label}: typ {claims.get('typ')!r}, expected {expect.typ!r}")
    if missing := expect.required_scopes - scopes_of(claims):
        raise TokenValidationError(f"{label}: scopes {sorted(missing)} not granted")
    if expect.nonce is not None and claims.get("nonce") != expect.nonce:
        raise TokenValidationError(f"{label}: nonce does not match the authorization request")
    return claims


def scopes_of(claims: Mapping[str, Any]) -> set[str]:
    return set(str(claims.get("scope", "")).split())


def unverified_claims(token: str) -> dict[str, Any]:
    """Claims read without verification: only for tests that then prove the token is refused."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def certificate_thumbprint(certificate_pem: bytes) -> str:
    """x5t#S256 of a PEM certificate (RFC 8705 §3.1): base64url SHA-256 of its DER."""
    der = x509.load_pem_x509_certificate(certificate_pem).public_bytes(serialization.Encoding.DER)
    return b64url(hashlib.sha256(der).digest())


@dataclass(frozen=True)
class Client:
    """A registered client as the smoke suite plays it: public (a DPoP key) or private_key_jwt (a client key)."""

    client_id: str
    redirect_uri: str | None = None
    key: ClientKey | None = None
    dpop: DPoPKey | None = None
    """The key a public client binds its tokens to; the realm's policy demands it of every public client."""

    @classmethod
    def public(cls, client_id: str, redirect_uri: str | None = None) -> Client:
        """A public client as it must play now: with a DPoP key of its own, for this session."""
        return cls(client_id, redirect_uri, dpop=DPoPKey.generate())

    def authentication(self, audience: str) -> dict[str, str]:
        """Token-endpoint authentication: a fresh assertion, or just the client_id of a public client."""
        return private_key_jwt(self.key, audience) if self.key else {"client_id": self.client_id}


def token_request(
    endpoints: Endpoints,
    client: Client,
    data: Mapping[str, str],
    *,
    verify: str | bool,
    dpop: DPoPKey | None = None,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """A token-endpoint request as `client`: its authentication, and a DPoP proof of its key (or of `dpop`, the
    key an attack test proves instead)."""
    form = dict(data) | client.authentication(endpoints.issuer)

    def send(proof: Mapping[str, str]) -> requests.Response:
        return post_form(endpoints.token, form, verify=verify, headers=dict(headers or {}) | dict(proof))

    return with_proof(dpop or client.dpop, send, "POST", endpoints.token)


def refresh(
    endpoints: Endpoints,
    client: Client,
    refresh_token: str,
    *,
    verify: str | bool,
    dpop: DPoPKey | None = None,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """A refresh token grant as `client` (with its DPoP proof, or `dpop`'s)."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return token_request(endpoints, client, data, verify=verify, dpop=dpop, headers=headers)


@dataclass(frozen=True)
class CodeGrant:
    """The outcome of a complete authorization code flow."""

    response: requests.Response
    nonce: str

    @property
    def tokens(self) -> dict[str, Any]:
        body: dict[str, Any] = self.response.json()
        return body


Approval = Callable[[Client], dict[str, str]]
"""A fresh grant of a client, approved by a person: the token request that redeems it (smoke-tests/conftest.py)."""


def sign_in(agent: UserAgent, endpoints: Endpoints, client: Client, scope: str) -> CodeGrant:
    """Authorization code + PKCE S256 from authorization request to token response."""
    data, nonce = code_redemption(agent, endpoints, client, scope)
    return CodeGrant(token_request(endpoints, client, data, verify=agent.verify), nonce)


def code_redemption(agent: UserAgent, endpoints: Endpoints, client: Client, scope: str) -> tuple[dict[str, str], str]:
    """An authorization code + PKCE S256 login up to the code: the token request that redeems it, and the nonce."""
    if client.redirect_uri is None:
        raise ValueError(f"{client.client_id}: no redirect URI, not a code-flow client")
    pkce = Pkce.generate()
    params = authorization_params(client.client_id, client.redirect_uri, scope, pkce)
    authorization = agent.authorize(endpoints, client, params)
    if authorization.code is None or authorization.params.get("state") != params["state"]:
        raise RuntimeError(
            f"{endpoints.authorization}: {client.client_id} got no code with its state "
            f"(status {authorization.status}, error {authorization.error!r})"
        )
    data = {
        "grant_type": "authorization_code",
        "code": authorization.code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": pkce.verifier,
    }
    return data, params["nonce"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client_credentials(
    endpoints: Endpoints,
    client: Client,
    *,
    cert: tuple[str, str],
    verify: str | bool,
    authentication: Mapping[str, str] | None = None,
    scope: str | None = None,
) -> requests.Response:
    """Client credentials on the M2M listener, where the certificate binds the token (RFC 8705).

    `authentication` replaces the client's own (a forged assertion, in attack tests).
    """
    data = {"grant_type": "client_credentials"} | dict(authentication or client.authentication(endpoints.issuer))
    if scope is not None:
        data["scope"] = scope
    return post_form(endpoints.mtls_token, data, verify=verify, cert=cert)


def unverified_header(token: str) -> dict[str, Any]:
    header: dict[str, Any] = jwt.get_unverified_header(token)
    return header


def device_grant(
    agent: UserAgent, endpoints: Endpoints, client: Client, scope: str, *, verify: str | bool
) -> requests.Response:
    """Device authorization grant (RFC 8628) approved by `agent`'s user: the token response of the first poll."""
    return token_request(
        endpoints, client, device_approval(agent, endpoints, client, scope, verify=verify), verify=verify
    )


def device_approval(
    agent: UserAgent, endpoints: Endpoints, client: Client, scope: str, *, verify: str | bool
) -> dict[str, str]:
    """A device authorization approved by `agent`'s user: the token request (poll) that redeems it."""
    pkce = Pkce.generate()  # the pkce-enforcer policy covers the device authorization request too
    started = post_form(
        endpoints.device_authorization, {"client_id": client.client_id, "scope": scope} | pkce.authorization_params,
        verify=verify,
    )  # fmt: skip
    if started.status_code != 200:
        raise RuntimeError(f"{endpoints.device_authorization}: {client.client_id} refused ({started.status_code})")
    device = started.json()
    approval = agent.open(device["verification_uri_complete"])
    if approval.status != 200:
        raise RuntimeError(f"{device['verification_uri']}: approval ended with {approval.status}")
    return {"grant_type": DEVICE_CODE_GRANT, "device_code": device["device_code"], "code_verifier": pkce.verifier}


def bearer_assertion(
    key: ClientKey, issuer: str, subject: str, audience: str, *, claims: Mapping[str, Any] | None = None
) -> str:
    """A JWT bearer grant assertion (RFC 7523 §2.1) from `issuer` about `subject`, signed with `key`."""
    now = int(time.time())
    payload = {"iss": issuer, "sub": subject, "aud": audience, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    return jwt.encode(payload | dict(claims or {}), key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})


def jwt_bearer_grant(
    endpoints: Endpoints, client: Client, assertion: str, scope: str, *, verify: str | bool
) -> requests.Response:
    """Exchange an assertion for tokens, the client authenticating itself (private_key_jwt)."""
    data = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion, "scope": scope}
    return token_request(endpoints, client, data, verify=verify)
