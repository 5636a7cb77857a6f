"""Requirement metadata for smoke tests, kept next to each test.

    @check("SMOKE-PKCE-002", "Authorization request with `plain` PKCE is refused",
           requirements=("RFC9700-2.1.1", "SMART-2.2-PKCE"), risk="...", remediation="...")
    def test_plain_pkce_is_refused(...): ...

The plugin refuses to collect a smoke test without it, and `idpkit smoke --catalog FILE --collect-only`
writes every check for the review report.
"""

from __future__ import annotations

import pytest

from idpkit.compliance import RuleMetadata, Severity


def check(
    check_id: str,
    title: str,
    *,
    requirements: tuple[str, ...],
    risk: str,
    remediation: str,
    severity: Severity = Severity.HIGH,
) -> pytest.MarkDecorator:
    """Mark a smoke test as the proof of one check (requirement references validated on import)."""
    metadata = RuleMetadata(
        id=check_id, title=title, requirements=requirements, severity=severity, risk=risk, remediation=remediation
    )
    return pytest.mark.proves(metadata)
