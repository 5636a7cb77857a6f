"""How a host's configuration travels in EC2 user data: a gzip-compressed shell script whose heredoc holds
`host.json`. The Pulumi program writes it (components/host_bootstrap.py); the rehearsal and the tests read
it back with the same functions."""

from __future__ import annotations

import base64
import gzip

from idpkit.host.layout import AWS_HOST

HOST_CONFIG_FILE = str(AWS_HOST.config_file)
HEREDOC_END = "IDPKIT_EOF"


def file_lines(path: str, content: str, mode: str) -> list[str]:
    """Shell lines writing `content` to `path` verbatim (quoted heredoc: no expansion)."""
    if HEREDOC_END in content:
        raise ValueError(f"{path}: content contains the heredoc delimiter")
    return [
        f"install -D -m {mode} -o root -g root /dev/null {path}",
        f"cat > {path} <<'{HEREDOC_END}'",
        content.removesuffix("\n"),
        HEREDOC_END,
    ]


def embedded_host_config(script: str) -> str:
    """The host configuration a rendered user-data script writes (its heredoc)."""
    marker = f"cat > {HOST_CONFIG_FILE} <<'{HEREDOC_END}'\n"
    start = script.index(marker) + len(marker)
    return script[start : script.index(f"\n{HEREDOC_END}", start)] + "\n"


def compress_user_data(script: str) -> bytes:
    """The script as EC2 receives it: gzip (cloud-init detects and unpacks it), reproducibly (no
    timestamp), so an unchanged script never changes the launch template."""
    return gzip.compress(script.encode(), compresslevel=9, mtime=0)


def encode_user_data(script: str) -> str:
    """`compress_user_data`, base64-encoded for the launch template's `user_data`."""
    return base64.b64encode(compress_user_data(script)).decode()


def decode_user_data(encoded: str) -> str:
    """The script inside a launch template's `user_data` (inverse of `encode_user_data`)."""
    return gzip.decompress(base64.b64decode(encoded)).decode()
