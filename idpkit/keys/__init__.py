"""Realm signing keys: kit-generated material, staged rotation, emergency rotation.

Modules, one per concern:
- `material`: generating PS256/ES256 key material and the Keycloak component config that imports it.
- `store`: where the material and the rotation state live (0600 files locally, Secrets Manager on AWS).
- `window`: how long a passive key must stay published, computed from the live realm.
- `live`: the realm's key-provider components and published keys, through the admin API.
- `rotation`: the stages (add, demote, disable, remove), emergency rotation, restore, status.
"""
