"""The local stack's host proxy: HAProxy with the AWS hosts' configuration (`keycloak_server.host_proxy`)."""

from __future__ import annotations

from pathlib import Path

from idpkit.keycloak_server.host_proxy import HostProxySettings, check_config, proxy_command, render_haproxy_conf
from idpkit.local.layout import LocalLayout
from idpkit.system.files import write_if_changed
from idpkit.system.service_user import ServiceAccount


def ensure_running(
    layout: LocalLayout, binary: str, settings: HostProxySettings, account: ServiceAccount | None
) -> bool:
    """Write the bundle and configuration; (re)start HAProxy when either changed. True if anything changed."""
    pki = layout.pki
    bundle = pki.server_certificate.read_text() + pki.server_key.read_text()
    conf = layout.haproxy_dir / "haproxy.cfg"
    changed = write_if_changed(Path(settings.certificate_bundle), bundle, private=True)
    changed |= write_if_changed(conf, render_haproxy_conf(settings), private=False)
    server = layout.process("haproxy")
    running = server.pid() is not None
    if running and not changed:
        return False
    check_config(binary, conf)
    if running:
        server.stop()
    server.start(proxy_command(binary, conf), env={}, cwd=layout.haproxy_dir, account=account)
    return True
