"""`idpkit review`: the security review report of one stack, for auditors.

Every codified security setting is listed with its value, the rule that enforces it, the
requirements that rule satisfies and the smoke checks that prove those requirements on a running
stack. Nothing is hand-maintained beyond `traceability.SUPPORTING` and `traceability.DESCRIPTIVE`:
which rule enforces which realm setting is found by weakening the setting and watching which rule
refuses it (`idpkit.realm.codified_settings`), and which AWS properties are hardened is recorded while the policy
rules read them (`aws_settings`).
"""
