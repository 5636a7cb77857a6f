"""A KMS endpoint on loopback for the local stack and the tests: moto in server mode, on AWS's semantics.

moto 5.2.5 differs from AWS KMS in two ways that matter for JWS, and this launcher corrects both before
the server starts (the Keycloak provider is never adapted to moto):
- `RSASSA_PSS_SHA_256` is signed with the maximum salt length; AWS KMS (and JWS PS256, RFC 7518 §3.5)
  use a salt as long as the digest (32 bytes), and JWS verifiers reject anything else;
- `MessageType: DIGEST` is ignored (the digest is signed as if it were the message); AWS KMS signs the
  given digest. The provider sends signing inputs over 4096 bytes (KMS's RAW limit) as digests;
- a disabled (or pending deletion) key still signs; AWS KMS refuses (`DisabledException`,
  `KMSInvalidStateException`), which is what makes `DisableKey` an emergency stop.
`--as-shipped` starts moto unchanged, so tests can prove ES256 through moto as it is and show that the
provider refuses moto's PS256 signatures rather than issue tokens JWS verifiers would reject.

Every `Sign` it answers is logged (`SIGN_LOG_PREFIX`, key ARN, algorithm, caller's address) to stderr, so a
test or the rehearsal can count which key signed what, for which host. moto serves every AWS API it emulates
on the same port: the rehearsal's AWS emulation is this module too, so its KMS has the same semantics as the
local stack's.

`--export-private-keys DIR` (tests and the rehearsal, never the local stack) writes the private key of each
signing key created from then on to DIR, so a search knows the exact bytes to look for in Keycloak's
database, on disk and in Secrets Manager.

Run as `python -m idpkit.local.kms_emulation --host 127.0.0.1 --port N [--as-shipped]`.
"""

# moto is imported inside functions: the local stack imports this module's constants without needing moto.
# ruff: noqa: PLC0415
from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

EMULATION_REGION = "us-east-1"
EMULATION_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-kms-emulation", "AWS_SECRET_ACCESS_KEY": "local-kms-emulation"}
"""moto accepts any credentials; Keycloak and the keys commands send these (never real ones) locally."""
SIGN_LOG_PREFIX = "idpkit-kms-emulation Sign"
"""Starts the line logged for each signature made: `<prefix> <key ARN> <signing algorithm> <caller address>`."""


def correct_to_aws_semantics() -> None:
    """Patch moto's KMS so PS256 salts and DIGEST messages behave as AWS KMS documents."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
    from moto.core.exceptions import JsonRESTError
    from moto.kms import responses
    from moto.kms import utils as kms_utils

    hash_of = {"SHA_256": hashes.SHA256(), "SHA_384": hashes.SHA384(), "SHA_512": hashes.SHA512()}

    def digest_algorithm(signing_algorithm: str) -> hashes.HashAlgorithm:
        return hash_of[signing_algorithm[-7:]]

    def rsa_sign(self: Any, message: bytes, signing_algorithm: str, prehashed: bool = False) -> bytes:
        algorithm = digest_algorithm(signing_algorithm)
        chosen: Any = utils.Prehashed(algorithm) if prehashed else algorithm
        if signing_algorithm.startswith("RSASSA_PSS"):
            pad: Any = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)
        else:
            pad = padding.PKCS1v15()
        signed: bytes = self.private_key.sign(message, pad, chosen)
        return signed

    def ecdsa_sign(self: Any, message: bytes, signing_algorithm: str, prehashed: bool = False) -> bytes:
        kms_utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
        algorithm = digest_algorithm(signing_algorithm)
        chosen: Any = utils.Prehashed(algorithm) if prehashed else algorithm
        signed: bytes = self.private_key.sign(message, ec.ECDSA(chosen))
        return signed

    def sign(self: Any) -> str:
        key_id = self._get_param("KeyId")
        message = self._get_param("Message")  # moto decodes the blob already
        message = message.encode() if isinstance(message, str) else message
        algorithm = self._get_param("SigningAlgorithm")
        prehashed = self._get_param("MessageType") == "DIGEST"
        self._validate_key_id(key_id)
        key = self.kms_backend.describe_key(key_id)
        if key.key_state == "Disabled":
            raise JsonRESTError("DisabledException", f"{key.arn} is disabled.")
        if key.key_state != "Enabled":
            raise JsonRESTError("KMSInvalidStateException", f"{key.arn} is {key.key_state}.")
        if key.key_usage != "SIGN_VERIFY" or algorithm not in key.signing_algorithms:
            raise JsonRESTError("ValidationException", f"{key.arn} cannot sign with {algorithm}")
        signature = key.private_key.sign(message, algorithm, prehashed)
        caller = getattr(getattr(self, "normalized_request", None), "remote_addr", None) or "-"
        print(f"{SIGN_LOG_PREFIX} {key.arn} {algorithm} {caller}", file=sys.stderr, flush=True)
        return json.dumps({
            "KeyId": key.arn, "Signature": base64.b64encode(signature).decode(), "SigningAlgorithm": algorithm,
        })  # fmt: skip

    kms_utils.RSAPrivateKey.sign = rsa_sign  # type: ignore[method-assign]
    kms_utils.ECDSAPrivateKey.sign = ecdsa_sign  # type: ignore[method-assign]
    responses.KmsResponse.sign = sign  # type: ignore[method-assign]


def export_private_keys(directory: Path) -> None:
    """Tests and rehearsals only: each signing key created from now on leaves its PKCS#8 private key in `directory`."""
    from cryptography.hazmat.primitives import serialization
    from moto.kms import models

    original = models.KmsBackend.create_key

    def create_key(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = original(self, *args, **kwargs)
        private = getattr(key.private_key, "private_key", None)
        if private is not None and key.key_usage == "SIGN_VERIFY":
            der = private.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            (directory / f"{key.id}.pk8").write_bytes(der)
        return key

    models.KmsBackend.create_key = create_key  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--as-shipped", action="store_true", help="moto unchanged (PS256 salt and DIGEST as moto has them)"
    )
    parser.add_argument("--export-private-keys", type=Path, default=None, metavar="DIR", help="tests only")
    arguments = parser.parse_args()
    if not arguments.as_shipped:
        correct_to_aws_semantics()
    if arguments.export_private_keys is not None:
        export_private_keys(arguments.export_private_keys)
    from moto.server import main as moto_main

    moto_main(["-H", arguments.host, "-p", str(arguments.port)])


if __name__ == "__main__":
    main()
