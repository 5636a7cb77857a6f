"""idpkit: deploy, configure, test and operate a hardened Keycloak identity provider for PHI APIs."""

__version__ = "0.1.0"
