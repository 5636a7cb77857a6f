"""What runs on an AWS Keycloak host, as kit code: `idpkit host up` and the host's maintenance commands.

The host's user data only installs operating-system packages from Amazon Linux 2023's own repositories,
installs the kit from the staged wheelhouse and runs `idpkit host up --config /etc/idpkit/host.json`; the
rest (artifacts, secrets, TLS files, database roles, keycloak.conf, the host proxy, services, health) is
here, in Python, with the renderers the local stack uses. The rehearsal (`idpkit rehearse`) runs the same
command on this machine, with a `HostLayout` rooted in a scratch directory and a process supervisor in
place of systemd.
"""
