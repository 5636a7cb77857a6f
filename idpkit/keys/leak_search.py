"""Where a private signing key could have leaked to: a search for its secret numbers in any bytes.

A private key's encodings (PKCS#8 or SEC1 DER, PEM, a JWK, hex dumps, PostgreSQL's `bytea` and COPY text)
all carry its secret numbers (EC: d; RSA: d, p, q), raw or hex- or base64-encoded. So the search looks
for each number raw, in hex, and in standard and URL-safe base64 at each of the three byte alignments a
number can sit at inside a longer encoded blob, after removing line breaks (PEM wraps at 64 columns,
pg_dump writes them as `\\n`). Substring tests only: a host's whole file tree is searched in seconds.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

_LINE_BREAKS = (b"\r", b"\n", b"\\r", b"\\n")


@dataclass(frozen=True)
class Needle:
    """One secret number of one key, in every form the search recognises."""

    key: str
    part: str
    forms: tuple[bytes, ...]


def needles(name: str, pkcs8_der: bytes) -> list[Needle]:
    """The secret numbers of a PKCS#8 private key (EC d; RSA d, p, q), each with its encoded forms."""
    key = serialization.load_der_private_key(pkcs8_der, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        numbers = {"d": key.private_numbers().private_value.to_bytes(size, "big")}
    elif isinstance(key, rsa.RSAPrivateKey):
        private = key.private_numbers()
        numbers = {part: _bytes(value) for part, value in (("d", private.d), ("p", private.p), ("q", private.q))}
    else:
        raise ValueError(f"{name}: not an EC or RSA private key")
    return [Needle(name, part, tuple(_forms(raw))) for part, raw in numbers.items()]


def _bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _forms(raw: bytes) -> Iterator[bytes]:
    yield raw
    yield raw.hex().encode()
    yield raw.hex().upper().encode()
    for offset in range(3):
        # `offset` bytes before the number shift it within base64's 3-byte groups; keep only the characters
        # that depend on the number alone (not on its unknown neighbours).
        encoded = base64.b64encode(bytes(offset) + raw)
        first = (offset * 8 + 5) // 6
        last = ((offset + len(raw)) * 8) // 6
        inner = encoded[first:last]
        yield inner
        yield inner.replace(b"+", b"-").replace(b"/", b"_")


def found_in(content: bytes, candidates: Iterable[Needle]) -> list[Needle]:
    """The needles `content` holds in any of their forms."""
    flattened = content
    for line_break in _LINE_BREAKS:
        flattened = flattened.replace(line_break, b"")
    return [needle for needle in candidates if any(form in content or form in flattened for form in needle.forms)]


def search_tree(root: Path, candidates: list[Needle]) -> tuple[int, list[str]]:
    """Every regular file under `root` (symbolic links not followed): how many were read, and each hit."""
    read, hits = 0, []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            content = path.read_bytes()
        except OSError:
            continue  # sockets, FIFOs and files removed while walking hold no key
        read += 1
        hits += [f"{path}: {needle.key} {needle.part}" for needle in found_in(content, candidates)]
    return read, hits
