"""TLS probes: which protocol a listener agrees to, with a client able to offer even deprecated ones.

OpenSSL's default security level refuses TLS < 1.2 on the client side already, which would make a
"server refuses TLS 1.1" check pass without asking the server; these clients lower it, and
`legacy_tls_server` is the control proving they really offer the old protocol.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from idpkit.certificates import private_key_pem, self_signed_pem

_LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"


def client_context(version: ssl.TLSVersion) -> ssl.SSLContext:
    """A client offering exactly `version`, even one OpenSSL's default security level forbids."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers(_LEGACY_CIPHERS)
    context.minimum_version = version
    context.maximum_version = version
    return context


def negotiate(host: str, port: int, context: ssl.SSLContext) -> str | None:
    """The protocol the server agreed to, or None when it refused the handshake."""
    with socket.create_connection((host, port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                return tls.version()
        except (ssl.SSLError, ConnectionResetError):
            return None


@contextmanager
def legacy_tls_server() -> Iterator[tuple[str, int]]:
    """A throwaway loopback server accepting TLS 1.0 and newer, for the control handshakes."""
    key = ec.generate_private_key(ec.SECP256R1())
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.set_ciphers(_LEGACY_CIPHERS)
    server_context.minimum_version = ssl.TLSVersion.TLSv1
    with tempfile.TemporaryDirectory() as scratch:
        cert_path, key_path = Path(scratch, "c.pem"), Path(scratch, "k.pem")
        cert_path.write_text(self_signed_pem(key, "legacy-tls-control", dt.timedelta(hours=1)))
        key_path.write_text(private_key_pem(key))
        server_context.load_cert_chain(cert_path, key_path)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            try:
                with server_context.wrap_socket(connection, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                continue

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield "127.0.0.1", listener.getsockname()[1]
    finally:
        listener.close()
