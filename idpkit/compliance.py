"""Requirement references and rule metadata shared by every rule and smoke test.

Security reviewers read these: each policy rule (AWS resources), realm rule (realm-config
validation) and smoke test carries a `RuleMetadata` naming the requirements it proves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The requirement catalog: reference -> what it asks for, in reviewer's words.
REQUIREMENTS: dict[str, str] = {
    "HIPAA-164.312(a)(1)": "Access control: only authorized persons and software reach ePHI",
    "HIPAA-164.312(a)(2)(i)": "Unique user identification",
    "HIPAA-164.312(a)(2)(ii)": "Emergency access procedure (break-glass)",
    "HIPAA-164.312(a)(2)(iii)": "Automatic logoff after inactivity",
    "HIPAA-164.312(a)(2)(iv)": "Encryption and decryption of ePHI at rest",
    "HIPAA-164.312(b)": "Audit controls: record and examine activity",
    "HIPAA-164.312(c)(1)": "Integrity: protect ePHI from improper alteration",
    "HIPAA-164.312(d)": "Person or entity authentication",
    "HIPAA-164.312(e)(1)": "Transmission security",
    "HIPAA-164.312(e)(2)(ii)": "Encryption in transit",
    "HIPAA-164.316(b)(2)": "Retain documentation (incl. audit records) for 6 years",
    "HIPAA-164.308(a)(1)(ii)(D)": "Information system activity review (audit logs, access reports, incident tracking)",
    "HIPAA-164.308(a)(5)(ii)(C)": "Log-in monitoring: log-in attempts and discrepancies are monitored and reported",
    "HIPAA-164.308(a)(6)(ii)": "Security incidents are identified, responded to, mitigated and documented",
    "RFC9700-2.1": "Exact redirect URI matching",
    "RFC9700-2.1.1": "PKCE required; S256; downgrade protection",
    "RFC9700-2.1.2": "Implicit grant not used",
    "RFC9700-2.2.1": "Sender-constrained access tokens (mTLS/DPoP)",
    "RFC9700-2.2.2": "Refresh tokens sender-constrained or rotated, reuse revokes",
    "RFC9700-2.3": "Access tokens audience-restricted and minimally privileged",
    "RFC9700-2.4": "Resource owner password credentials grant not used",
    "RFC9700-2.5": "Asymmetric client authentication (private_key_jwt, mTLS)",
    "RFC9700-2.6": "Other recommendations: no CORS at the authorization endpoint, metadata",
    "RFC9700-4.2": "Credential leakage via Referer headers / open redirectors",
    "RFC9700-4.4": "Mix-up attacks: the authorization response names its issuer (RFC 9207)",
    "RFC9700-4.5": "Authorization code injection: codes single-use and bound to client",
    "RFC9700-4.8": "PKCE downgrade attack",
    "RFC9700-4.13": "Reverse proxies sanitize inbound security headers",
    "RFC9700-4.14": "Refresh token protection",
    "RFC9700-4.16": "Clickjacking protection",
    "FAPI2-SP-5.2.2": "Authorization server requirements (PKCE S256, code lifetime <= 60 s, response_type code)",
    "FAPI2-SP-5.3.2": "Client authentication with private_key_jwt or mTLS",
    "FAPI2-SP-5.4": "Cryptography: PS256/ES256/EdDSA, RSA >= 2048 bits",
    "FAPI2-SP-5.2.1": "TLS 1.2+ with BCP 195 cipher suites",
    "FAPI2-SP-5.3.3": "Sender-constrained access tokens",
    "FAPI2-SP-PAR": "FAPI 2.0 Security Profile: the authorization server requires pushed authorization requests",
    "RFC9126": "Pushed authorization requests: the request travels back channel, authenticated; the browser carries "
    "only a one-time reference",
    "RFC9449": "DPoP: tokens bound to a key the client proves on every use",
    "SMART-2.2-PKCE": "SMART App Launch: PKCE S256 SHALL, plain SHALL NOT",
    "SMART-2.2-SCOPES": "SMART App Launch v2 scopes (patient|user|system/Resource.cruds)",
    "SMART-2.2-BACKEND": "SMART Backend Services: client_credentials + private_key_jwt, tokens <= 300 s",
    "SMART-2.2-DISCOVERY": "SMART App Launch: /.well-known/smart-configuration at the issuer, with its required fields",
    "SMART-2.2-CAPABILITIES": "SMART App Launch: advertised capabilities are ones the server supports",
    "RFC8705": "OAuth 2.0 mutual-TLS client authentication and certificate-bound tokens",
    "RFC7009": "Token revocation",
    "RFC9325-BCP195": "Recommendations for secure use of TLS",
    "NIST-800-63B-5.1.1": "Memorized secret strength (length, no reuse, breached-password style checks)",
    "NIST-800-63B-4.2.1": "AAL2: proof of two distinct authentication factors; a password alone never suffices",
    "NIST-800-63B-5.1.4.2": "OTP verifiers accept a time-based one-time password only once in its validity period",
    "NIST-800-63B-4.3.1": "AAL3 / phishing-resistant authenticators (WebAuthn) where the action demands it",
    "NIST-800-63B-5.1.8.1": "Multi-factor cryptographic authenticators activated by the person (PIN or biometric): "
    "user verification",
    "NIST-800-63B-6.1": "Authenticator binding: a person enrols a second factor themselves, bound to the account",
    "RFC9470": "Step-up authentication: tokens carry acr, a level of authentication can be demanded",
}


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class RuleMetadata:
    """What a reviewer needs to know about one rule or test."""

    id: str
    """Stable identifier, e.g. `REALM-PKCE-001`, `AWS-S3-003`, `SMOKE-PKCE-PLAIN`."""
    title: str
    """One line: the property enforced or proven."""
    requirements: tuple[str, ...]
    """Keys of `REQUIREMENTS` this rule satisfies."""
    severity: Severity
    """How bad a violation is."""
    risk: str
    """What goes wrong when the rule is broken."""
    remediation: str
    """What to change to comply."""

    def __post_init__(self) -> None:
        unknown = [ref for ref in self.requirements if ref not in REQUIREMENTS]
        if not self.requirements or unknown:
            raise ValueError(f"{self.id}: requirements must be known references, got {self.requirements!r}")
