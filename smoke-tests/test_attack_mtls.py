"""Mutual TLS attacks (RFC 8705): the right CA is not enough, and a bound token stays with its certificate.

Certificates come from the client CA the M2M listener trusts (idpkit.smoke.certificates): one with
another subject, and one whose subject matches smoke-mtls's registered DN only if the DN were read
as a regular expression. Bound tokens are presented to UserInfo on the M2M listener with another
certificate of the same CA.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from idpkit.smoke import oauth
from idpkit.smoke.certificates import ClientCertificate, Role
from idpkit.smoke.checks import check

MTLS_CLIENT = "smoke-mtls"
BOUND_CLIENTS = ("smoke-mtls", "smoke-backend")


def _authenticate(endpoints: oauth.Endpoints, certificate: ClientCertificate, verify: str | bool) -> requests.Response:
    data = {"grant_type": "client_credentials", "client_id": MTLS_CLIENT}
    return oauth.post_form(endpoints.mtls_token, data, verify=verify, cert=certificate.requests_cert)


def _assert_refused(response: requests.Response, certificate: ClientCertificate, endpoint: str) -> None:
    assert oauth.oauth_error(response) == "invalid_client" and oauth.issued_tokens(response) == set(), (
        f"{endpoint}: {MTLS_CLIENT} authenticated with a certificate for {certificate.subject} "
        f"({response.status_code} {oauth.oauth_error(response)}); only its registered subject may"
    )


@check(
    "SMOKE-X509-001",
    "A certificate from the trusted client CA with another subject does not authenticate the mTLS client",
    requirements=("RFC8705", "HIPAA-164.312(d)", "FAPI2-SP-5.3.2"),
    risk="Any certificate the CA ever issued (another service, a contractor) could authenticate as the client.",
    remediation="x509.subjectdn: the client's exact DN on every client-x509 client.",
    claims=('clients[*].attributes["x509.subjectdn"]',),
)
def test_other_subject_is_refused(
    certificates: Callable[[Role], ClientCertificate], mtls_response: requests.Response,
    endpoints: oauth.Endpoints, tls_verify: str | bool,
) -> None:  # fmt: skip
    assert mtls_response.status_code == 200, f"control: {MTLS_CLIENT} refused with its own certificate"
    other = certificates(Role.OTHER_SUBJECT)
    _assert_refused(_authenticate(endpoints, other, tls_verify), other, endpoints.mtls_token)


@check(
    "SMOKE-X509-002",
    "A subject that matches the registered DN only as a regular expression does not authenticate",
    requirements=("RFC8705", "HIPAA-164.312(d)"),
    risk="Regex matching of the subject DN lets certificates with look-alike subjects (a '.' matching any "
    "character) authenticate as the client.",
    remediation="x509.allow.regex.pattern.comparison: 'false' on every client-x509 client.",
    claims=('clients[*].attributes["x509.allow.regex.pattern.comparison"]',),
)
def test_lookalike_subject_is_refused(
    certificates: Callable[[Role], ClientCertificate], mtls_response: requests.Response,
    endpoints: oauth.Endpoints, tls_verify: str | bool,
) -> None:  # fmt: skip
    assert mtls_response.status_code == 200, f"control: {MTLS_CLIENT} refused with its own certificate"
    lookalike = certificates(Role.LOOKALIKE_SUBJECT)
    _assert_refused(_authenticate(endpoints, lookalike, tls_verify), lookalike, endpoints.mtls_token)


@check(
    "SMOKE-HOK-001",
    "A certificate-bound token presented with another certificate of the same CA is refused",
    requirements=("RFC8705", "RFC9700-2.2.1", "FAPI2-SP-5.3.3"),
    risk="If the binding is not checked where the token is used, a stolen bound token is a bearer token.",
    remediation="tls.client.certificate.bound.access.tokens: 'true' on machine clients; holder-of-key executor.",
    claims=('clients[*].attributes["tls.client.certificate.bound.access.tokens"]',),
)
@pytest.mark.parametrize("client_id", BOUND_CLIENTS)
def test_bound_token_with_another_certificate_is_refused(
    client_id: str,
    clients: dict[str, oauth.Client],
    certificates: Callable[[Role], ClientCertificate],
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
) -> None:
    own, other = certificates(Role.CLIENT), certificates(Role.OTHER_SUBJECT)
    issued = oauth.client_credentials(endpoints, clients[client_id], cert=own.requests_cert, verify=tls_verify,
                                      scope="openid")  # fmt: skip
    assert issued.status_code == 200, f"control: {client_id} got no token ({oauth.oauth_error(issued)})"
    token = issued.json()["access_token"]
    userinfo = endpoints.mtls.get("userinfo_endpoint", endpoints.userinfo)

    def present(certificate: ClientCertificate) -> requests.Response:
        return requests.get(userinfo, headers=oauth.bearer(token), cert=certificate.requests_cert, verify=tls_verify,
                            timeout=oauth.TIMEOUT)  # fmt: skip

    assert present(own).status_code == 200, f"control: {userinfo} refused {client_id}'s token with its own certificate"
    stolen = present(other)
    assert stolen.status_code == 401, (
        f"{userinfo}: {client_id}'s certificate-bound token was accepted with {other.subject}'s certificate "
        f"({stolen.status_code})"
    )
