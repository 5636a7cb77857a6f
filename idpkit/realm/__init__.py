"""Realm configuration as code: validate `realm-config/`, then plan, apply and detect drift.

Files: `model` (file schema), `loader` + `located` (files, overlays, provenance), `references` (every
name resolves), `rules/` (security rules by concern), `secure_defaults` (what undeclared fields are
held to). Plans: `kinds/` (desired vs live per object kind, diffed into `changes`: data, not code),
`engine` (plan/apply/drift), `executor` (runs a plan's writes), `planfile` (saved plans), `render`
(diff and table). Around them: `bootstrap` (the kit's admin service account), `secrets` (generated
test credentials), `schema` (JSON Schema export). Admin API access: `idpkit.keycloak_admin`.
"""
