"""Realm configuration as code: validate `realm-config/`, then plan, apply and detect drift.

One module per concern: `model` (file schema), `loader` (files, overlays, provenance), `rules`
(security rules), `urls` (admin API paths), `api` (HTTP calls, error mapping, write counting),
`resources` (desired vs live per object kind), `engine` (plan/apply), `bootstrap` (the kit's admin
service account), `secrets` (generated test credentials), `schema` (JSON Schema export).
"""
