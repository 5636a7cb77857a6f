"""Keycloak's database credentials on a host: dedicated least-privilege roles, rotated without an outage.

Keycloak never connects as the RDS master user. It logs in as one of two application roles,
`keycloak_a` and `keycloak_b` (Secrets Manager's "alternating users" strategy), members of the
`keycloak_owner` role that owns Keycloak's database and schema objects; neither may create roles or
databases. The application secret names the role in use and its password.

Keycloak reads its database password only at start (Keycloak #43633), so a rotation never changes the
password of the role running nodes use: it sets a new password on the *other* role and makes that the
secret's current value. Running nodes keep working with the role they started with; each node moves to
the new role when it restarts (`idpkit host refresh-db-credentials`, run one host at a time after a
rotation). A rotation refuses to start while any connection still uses the role it would change, so a
node that has not restarted since the previous rotation can never be locked out.

Only the first step on a new database uses the master credentials: creating the roles and handing the
database (and, on a database Keycloak used as the master user before, its objects) to `keycloak_owner`.
"""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from idpkit.errors import IdpkitError
from idpkit.host import aws
from idpkit.host.config import HostConfig

if TYPE_CHECKING:
    from pg8000.native import Connection

OWNER_ROLE = "keycloak_owner"
APPLICATION_ROLES = ("keycloak_a", "keycloak_b")
# pg_advisory_lock key serializing role setup and rotations across hosts (any constant the kit owns).
_LOCK_KEY = 0x1DB4_0001
_CONNECT_TIMEOUT = 15
# Tables, views and free-standing sequences the connected (master) user owns in `public`; a sequence that
# belongs to a column follows its table.
_HAND_OVER_OBJECTS = f"""DO $$ DECLARE item record; BEGIN
FOR item IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = CURRENT_USER)
    AND c.relkind IN ('r', 'p', 'v', 'S')
    AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
  ORDER BY c.relkind <> 'S' DESC
LOOP
  EXECUTE format('ALTER %s %I OWNER TO {OWNER_ROLE}',
    CASE item.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END, item.relname);
END LOOP; END $$"""  # noqa: S608 - the kit's own constant role name, no input


@dataclass(frozen=True)
class DatabaseCredentials:
    """One role and its password."""

    username: str
    password: str

    def __repr__(self) -> str:  # never leak the password through logs or tracebacks
        return f"DatabaseCredentials({self.username!r}, password=***)"

    def to_secret(self, config: HostConfig) -> dict[str, object]:
        return {
            "username": self.username,
            "password": self.password,
            "host": config.db_host,
            "port": config.db_port,
            "dbname": config.db_name,
        }


def other_role(username: str) -> str:
    """The alternating partner of an application role."""
    first, second = APPLICATION_ROLES
    return second if username == first else first


def current_credentials(config: HostConfig) -> DatabaseCredentials:
    """The application credentials Keycloak should start with (the secret's current value)."""
    found = _application_secret(config)
    if found is None:
        raise IdpkitError(
            f"secret {config.db_app_secret_arn}: holds no application credentials yet",
            hint="run `idpkit host up` (its database step creates them)",
        )
    return found


def ensure_roles(config: HostConfig, ca_file: Path) -> DatabaseCredentials:
    """Create the roles and the application secret if missing; make the role's password match the secret.

    Idempotent, and serialized across hosts with an advisory lock: every host runs it at `host up`.
    """
    master = aws.secret_json(config.region, config.db_master_secret_arn)
    with _session(config, ca_file, DatabaseCredentials(master["username"], master["password"])) as db:
        _ensure_owner_and_roles(db, config.db_name)
        credentials = _application_secret(config)
        if credentials is None:
            credentials = DatabaseCredentials(APPLICATION_ROLES[0], _new_password())
            _set_password(db, credentials)
            aws.put_secret_json(config.region, config.db_app_secret_arn, credentials.to_secret(config))
        else:
            # The secret is the truth (e.g. after a database restore brought back an older password).
            _set_password(db, credentials)
    return credentials


def rotate(config: HostConfig, ca_file: Path) -> tuple[str, str]:
    """Alternating-users rotation: a new password on the role not in use, then make it current.

    Returns (the role nodes run with now, the role they move to on restart).
    """
    master = aws.secret_json(config.region, config.db_master_secret_arn)
    with _session(config, ca_file, DatabaseCredentials(master["username"], master["password"])) as db:
        current = current_credentials(config)
        target = other_role(current.username)
        sessions = db.run("SELECT count(*) FROM pg_stat_activity WHERE usename = :name", name=target)[0][0]
        if sessions:
            raise IdpkitError(
                f"{sessions} database connection(s) still use {target}: a node has not restarted since the "
                f"previous rotation, and changing {target}'s password now would lock it out",
                hint="run `idpkit host refresh-db-credentials` on every host (one at a time), then rotate again",
            )
        rotated = DatabaseCredentials(target, _new_password())
        _set_password(db, rotated)
        aws.put_secret_json(config.region, config.db_app_secret_arn, rotated.to_secret(config))
    return current.username, target


def _application_secret(config: HostConfig) -> DatabaseCredentials | None:
    value = aws.optional_secret_json(config.region, config.db_app_secret_arn)
    if not value:
        return None
    username, password = value.get("username"), value.get("password")
    if username not in APPLICATION_ROLES or not isinstance(password, str) or not password:
        return None
    return DatabaseCredentials(str(username), password)


def _new_password() -> str:
    return secrets.token_urlsafe(32)


@contextmanager
def _session(config: HostConfig, ca_file: Path, credentials: DatabaseCredentials) -> Iterator[Connection]:
    """A verified-TLS session (sslmode=verify-full) holding the kit's advisory lock."""
    import pg8000.native  # noqa: PLC0415 - only the database steps need it

    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        db = pg8000.native.Connection(
            credentials.username,
            password=credentials.password,
            host=config.db_host,
            port=config.db_port,
            database=config.db_name,
            ssl_context=context,
            timeout=_CONNECT_TIMEOUT,
        )
    except (pg8000.native.InterfaceError, pg8000.native.DatabaseError, OSError) as error:
        raise IdpkitError(f"cannot connect to {config.db_host}:{config.db_port} as {credentials!r}: {error}") from error
    try:
        db.run("SELECT pg_advisory_lock(:key)", key=_LOCK_KEY)
        yield db
    except pg8000.native.DatabaseError as error:
        raise IdpkitError(f"{config.db_host}: the database refused the kit's role setup: {error}") from error
    finally:
        db.close()


def _ensure_owner_and_roles(db: Connection, database: str) -> None:
    from pg8000.native import identifier  # noqa: PLC0415

    run = db.run
    owner = identifier(OWNER_ROLE)
    run(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OWNER_ROLE}') "
        f"THEN CREATE ROLE {owner} NOLOGIN; END IF; END $$"
    )
    # The master user must be able to SET ROLE to the owner to hand it the database and its objects.
    run(f"GRANT {owner} TO CURRENT_USER")
    for name in APPLICATION_ROLES:
        role = identifier(name)
        run(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') "
            f"THEN CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$"
        )
        run(f"GRANT {owner} TO {role}")
        # Whatever Keycloak creates (Liquibase migrations) belongs to the owner role, not the login role,
        # so the next rotation's role can use and alter it.
        run(f"ALTER ROLE {role} SET role TO {OWNER_ROLE}")
    run(f"ALTER DATABASE {identifier(database)} OWNER TO {owner}")
    # A database Keycloak used as the master user before: its objects move to the owner role.
    run(_HAND_OVER_OBJECTS)


def _set_password(db: Connection, credentials: DatabaseCredentials) -> None:
    from pg8000.native import identifier, literal  # noqa: PLC0415

    # ALTER ROLE takes no bind parameters; the password is a URL-safe random token, quoted regardless.
    db.run(f"ALTER ROLE {identifier(credentials.username)} PASSWORD {literal(credentials.password)}")
