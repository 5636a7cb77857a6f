"""plan / apply / drift: validate, read live state, compute changes as data, run their writes.

Re-running apply after success makes no write call; after an interruption it converges, because
every change is computed from live state and every write is idempotent at the object level. A plan
can also be saved (`idpkit.realm.planfile`) and applied later, exactly, unless the realm moved.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idpkit.errors import ExitCode, IdpkitError
from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, ApiError, Read, ReadLog, WriteCounter, connect, urls
from idpkit.outputs import AdminCredentials, StackOutputs, load_admin_credentials, load_break_glass_credentials
from idpkit.realm import (
    bootstrap,
    executor,
    loader,
    master_authentication,
    master_realm,
    master_rules,
    planfile,
    references,
    rules,
)
from idpkit.realm.changes import Change
from idpkit.realm.kinds import KINDS, Context
from idpkit.realm.kinds import realm as realm_kind
from idpkit.realm.secrets import SecretStore

_NOT_FOUND = 404
_SHOWN_READS = 3
NEW_REALM_NOTE = "the realm does not exist yet: its contents are planned once it is created"
MAX_APPLY_PASSES = 4
"""Apply plans again after writing, until nothing is pending: a new realm's built-in contents are planned once it
exists, and a client-policy executor may rewrite a field in the same update that changes what it keys on (a
client made confidential again keeps the DPoP binding the public-client policy gave it until the next update).
After the first pass only the planners that wrote run again: a plain realm-field change re-reads the realm, not
its thousands of clients."""
PLAN_CONCURRENCY = 4
"""Planners reading the live realm at once (a no-op plan is mostly waiting for a few dozen reads)."""


@dataclass
class Plan:
    """Changes in apply order, plus what reports show alongside them."""

    realm: str
    environment: str
    changes: list[Change]
    unmanaged: list[str]
    waivers: list[rules.Waiver]
    writes: WriteCounter = field(default_factory=WriteCounter)
    seconds: float = 0.0
    reads: list[Read] = field(default_factory=list)
    """What the plan read of the live realm (digests), so a saved plan can tell the realm moved."""
    planned_by: frozenset[str] = frozenset()
    """The `KINDS` planners that found changes (apply verifies what they wrote by running them again)."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "realm": self.realm,
            "environment": self.environment,
            "in_sync": not self.changes,
            "changes": [change.to_dict() for change in self.changes],
            "unmanaged": self.unmanaged,
            "notes": self.notes,
            "exceptions": [
                {
                    "rule": w.finding.rule.id,
                    "path": w.finding.path,
                    "finding": w.finding.message,
                    "owner": w.exception.owner,
                    "reason": w.exception.reason,
                    "expires": str(w.exception.expires),
                }
                for w in self.waivers
            ],
            "writes": self.writes.to_dict(),
            "seconds": round(self.seconds, 3),
        }


Validated = tuple[loader.LoadedConfig, list[rules.Waiver]]


def validate(environment: str) -> Validated:
    """Schema, references, security rules and master's; raises ConfigError before anything touches Keycloak."""
    loaded = loader.load(environment)
    waivers = rules.evaluate(loaded)
    master_rules.evaluate(loaded)
    return loaded, waivers


@dataclass
class Session:
    """Admin API access for one stack: `master` and the managed realm, sharing a counter.

    The kit's service account administers the managed realm and may only read master; master is written
    (its settings, the kit's own client) by a master administrator: the bootstrap admin before the kit's
    account exists, and after it the break-glass account, when opened with `break_glass`."""

    outputs: StackOutputs
    master: AdminApi
    realm: AdminApi
    kit: AdminCredentials
    """What the kit logs in to the managed realm with: the bootstrap admin's login until the bootstrap moved the kit
    onto its service account's key."""
    break_glass: bool = False
    """`master` is logged in as the break-glass account."""
    master_user: str | None = None
    """The user `master` is logged in as (the bootstrap or break-glass account); None: the kit's service account."""

    @classmethod
    def open(cls, outputs: StackOutputs, *, break_glass: bool = False) -> Session:
        kit = load_admin_credentials(outputs)
        connection = connect(outputs, kit)
        master, realm = AdminApi(connection, ADMIN_REALM), AdminApi(connection, outputs.realm)
        if not break_glass:
            return cls(outputs, master, realm, kit, master_user=None if kit.is_service_account else kit.username)
        account = load_break_glass_credentials(outputs)
        privileged = connect(outputs, account)
        privileged.writes = connection.writes
        master.use(privileged)
        return cls(outputs, master, realm, kit, break_glass=True, master_user=account.username)

    @property
    def master_administrator(self) -> bool:
        """`master` is logged in as an account that may change the master realm."""
        return self.break_glass or not self.kit.signs_assertions

    def relogin(self) -> None:
        """Log in again (after the bootstrap moved the kit onto its service account), keeping the counter."""
        self.kit = load_admin_credentials(self.outputs)
        connection = connect(self.outputs, self.kit)
        connection.writes = self.master.writes
        self.realm.use(connection)
        if not self.break_glass:
            self.master.use(connection)
            self.master_user = None

    def record_reads(self, log: ReadLog | None) -> None:
        self.master.connection.read_log = self.realm.connection.read_log = log

    @property
    def apis(self) -> dict[str, AdminApi]:
        return {"realm": self.realm, "master": self.master}

    def kit_token(self) -> str | None:
        """The kit's service account's current access token (None while the kit logs in as the bootstrap admin)."""
        connection = self.realm.connection
        if connection.signing is None or not connection.token:
            return None
        return str(connection.token["access_token"])


def plan(
    session: Session,
    environment: str,
    stack: str,
    *,
    prune: bool = False,
    validated: Validated | None = None,
    record_reads: bool = True,
    planners: frozenset[str] | None = None,
) -> Plan:
    """What apply would change now; every live read is recorded in `reads` (unless `record_reads` is off: apply
    saves no plan, and digesting every read costs a tenth of a second per 500 clients). `validated`: the files
    as `validate(environment)` just returned them (a command that validated first need not read them twice).
    `planners`: only these `KINDS` planners (apply's verifying passes); None: every one."""
    started = time.monotonic()
    loaded, waivers = validated or validate(environment)
    document = loaded.document
    declared = document.realm.realm if document.realm else None
    if declared != session.outputs.realm:
        raise IdpkitError(f"stack {stack!r} serves realm {session.outputs.realm!r} but the files declare {declared!r}")
    log = ReadLog()
    session.record_reads(log if record_reads else None)
    try:
        ctx = Context(document, session.realm, SecretStore.open(stack, generate=False), prune)
        ctx.realm_exists = _realm_exists(session.realm)
        changes: list[Change] = []
        notes: list[str] = []
        planned_by: dict[str, list[Change]] = {}
        # Master's sign-in and settings first: the bootstrap after them leaves the kit logged in without the right to
        # change master. The break-glass role is granted before the flows that exempt it are bound.
        changes += master_authentication.changes(session.master, session.master_user)
        master = master_realm.change(loaded, session.master)
        if master:
            changes.append(master)
        # A new realm is created by the master administrator before the bootstrap, which grants the kit its roles;
        # an account the kit already has is granted them right after.
        creation = [] if ctx.realm_exists else realm_kind.diff(ctx)
        admin = bootstrap.bootstrap_change(session.outputs, session.kit)
        token = None if admin or creation else session.kit_token()
        excess = bootstrap.privileges_change(token) if token else None
        grant = bootstrap.grant_change(session.outputs.realm) if creation and not admin else None
        changes += [change for change in (*creation, admin, grant, excess) if change]
        if ctx.realm_exists:
            planned_by = _plan_kinds(ctx, planners)
            changes += [change for found in planned_by.values() for change in found]
            references.check_plan(loaded, ctx, changes)
        else:
            notes.append(NEW_REALM_NOTE)
    finally:
        session.record_reads(None)
    result = Plan(session.outputs.realm, environment, changes, ctx.unmanaged, waivers, session.realm.writes)
    result.reads, result.notes = sorted(log.reads, key=lambda read: (read.path, read.params)), notes
    result.planned_by = frozenset(name for name, found in planned_by.items() if found)
    result.seconds = time.monotonic() - started
    return result


def _plan_kinds(ctx: Context, only: frozenset[str] | None) -> dict[str, list[Change]]:
    """Each planner's changes, in `KINDS` order. The planners run side by side, so their reads (a few dozen
    round trips, most of a no-op plan) overlap; a read two planners need is made once."""
    chosen = [(name, planner) for name, planner in KINDS if only is None or name in only]
    contexts = [ctx.for_planner() for _ in chosen]
    with ThreadPoolExecutor(max_workers=PLAN_CONCURRENCY, thread_name_prefix="realm-plan") as pool:
        planned = list(pool.map(lambda kind, view: kind[1](view), chosen, contexts))
    for view in contexts:
        ctx.unmanaged += view.unmanaged
    return {name: found for (name, _planner), found in zip(chosen, planned, strict=True)}


def apply(
    session: Session, environment: str, stack: str, *, prune: bool = False, validated: Validated | None = None
) -> Plan:
    """Apply every pending change, then plan again what the planners that wrote would change now, until nothing is
    pending; returns the changes applied, with the write count, and what the last full plan reported."""
    started = time.monotonic()
    applied: list[Change] = []
    validated = validated or validate(environment)
    verify: frozenset[str] | None = None
    for _ in range(MAX_APPLY_PASSES):
        pending = plan(session, environment, stack, prune=prune, validated=validated, record_reads=False,
                       planners=verify)  # fmt: skip
        if verify is None:
            report = pending
        if not pending.changes and NEW_REALM_NOTE not in pending.notes:
            break
        execute(session, pending.changes, stack)
        applied += pending.changes
        # A new realm's contents, or the kit's admin account, are planned in full once written; otherwise what
        # was written is planned again, by the planners that wrote it (the rest read a realm nobody changed).
        whole = NEW_REALM_NOTE in pending.notes or any(change.operation for change in pending.changes)
        verify = None if whole else pending.planned_by
    else:
        left = plan(session, environment, stack, prune=prune, validated=validated, record_reads=False,
                    planners=verify).changes  # fmt: skip
        if left:
            raise IdpkitError(
                f"realm {session.outputs.realm}: Keycloak changed back what apply wrote, {MAX_APPLY_PASSES} times: "
                + "; ".join(f"{c.kind} {c.name}: {', '.join(f.field for f in c.fields)}" for c in left),
                hint="a client policy executor with auto-configure, or another writer, overrides these fields",
            )
    report.changes, report.notes = applied, []
    report.seconds = time.monotonic() - started
    return report


MASTER_KINDS = frozenset({master_realm.KIND, bootstrap.KIND, *master_authentication.KINDS})
"""Changes to the master realm, which only a master administrator may write."""


def _master_administrators_only(change: Change) -> bool:
    """A change to master, or one written through master (creating the managed realm)."""
    return change.kind in MASTER_KINDS or any(write.target == "master" for write in change.writes)


def execute(session: Session, changes: list[Change], stack: str) -> None:
    """Run the changes' writes in order (the admin bootstrap logs the session in again); refused before any write
    when a change is to master, or creates the managed realm, and the session is not logged in to master as a
    master administrator."""
    if not session.master_administrator and (held := [c for c in changes if _master_administrators_only(c)]):
        raise IdpkitError(
            "only a master administrator may make these changes ("
            + "; ".join(f"{c.kind} {c.name}: {', '.join(f.field for f in c.fields)}" for c in held)
            + "): the kit's service account may not change master or create a realm; nothing was written",
            hint="have a master administrator re-run with `--break-glass` (runbooks/break-glass-admin-access.md)",
        )

    def bootstrap_admin() -> None:
        bootstrap.bootstrap(session.master, session.outputs, session.kit)
        session.relogin()

    operations = {bootstrap.OPERATION: bootstrap_admin}
    executor.run(changes, session.apis, SecretStore.open(stack, generate=True), operations)


def _realm_exists(api: AdminApi) -> bool:
    try:
        api.get(api.path(urls.REALM))
    except ApiError as error:
        if error.status == _NOT_FOUND:
            return False
        raise
    return True


def save_plan(result: Plan, stack: str, path: Path) -> None:
    """Write `result` as a reviewable plan file (`realm apply --plan` applies exactly it)."""
    saved = planfile.SavedPlan(
        stack, result.realm, result.environment, planfile.created_now(), result.changes, result.reads, result.notes
    )
    planfile.save(saved, path)


def apply_saved(session: Session, path: Path, stack: str) -> Plan:
    """Apply exactly the plan saved at `path`, unless the live realm moved since it was made."""
    started = time.monotonic()
    saved = planfile.load(path)
    if (saved.stack, saved.realm) != (stack, session.outputs.realm):
        raise IdpkitError(
            f"{path} was planned for stack {saved.stack!r} (realm {saved.realm!r}), not stack {stack!r} "
            f"(realm {session.outputs.realm!r}); nothing was applied",
            exit_code=ExitCode.USAGE,
        )
    differing = planfile.moved(session.realm, saved.reads)
    if differing:
        shown = ", ".join(differing[:_SHOWN_READS]) + (" …" if len(differing) > _SHOWN_READS else "")
        raise IdpkitError(
            f"realm {saved.realm} changed since {path} was planned ({saved.created}): {len(differing)} of "
            f"{len(saved.reads)} reads answer differently ({shown}); nothing was applied",
            hint=f"review a new plan: idpkit realm plan --stack {stack} --out {path}",
        )
    execute(session, saved.changes, stack)
    result = Plan(saved.realm, saved.environment, saved.changes, [], [], session.realm.writes, notes=saved.notes)
    result.seconds = time.monotonic() - started
    return result
