"""Settings whose effect the listeners mask, read back from the live realm through the admin API."""

from __future__ import annotations

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.smoke.checks import check


@check(
    "SMOKE-REALM-001",
    "The live realm requires TLS for every request (sslRequired: all)",
    requirements=("HIPAA-164.312(e)(1)", "HIPAA-164.312(e)(2)(ii)"),
    risk="If the realm accepted plain HTTP from 'internal' addresses, any proxy or listener misconfiguration "
    "would expose credentials and tokens inside the network.",
    remediation="Set realm.sslRequired: all in realm-config and apply it.",
)
def test_live_realm_requires_tls_for_every_request(realm_admin: AdminApi) -> None:
    # The front door and host proxy only speak HTTPS, so weakening this has no visible effect on a request.
    realm = realm_admin.get(realm_admin.path(urls.REALM))
    assert realm["sslRequired"] == "all", f"realm {realm_admin.realm}: sslRequired is {realm['sslRequired']!r}"
