"""The `local` stack: a real, hardened Keycloak behind an nginx front door on this machine."""
