"""Local bring-up: `idpkit local up` to healthy, and on to a smoke-tested realm (up + realm apply + smoke).

Usage: IDPKIT_STATE_DIR=<empty dir> IDPKIT_LOCAL_PORT_OFFSET=200 python benchmarks/bringup.py [--quick]

Runs on a second stack only (it purges its state): `idpkit bench` sets both variables. Three starts:
- cold, download included: empty state and an empty download cache (IDPKIT_CACHE_DIR), and, since
  Maven is how the kit fetches when it is installed, an empty Maven repository (MAVEN_OPTS) too;
- cold, download excluded: empty state, the verified archive already cached;
- warm: `idpkit local down` then `up` with the state kept (unpacked, built, realm in the database).
The stack is left up; the caller takes it down.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchlib import Section, arguments, idpkit, require_second_stack, save
from smoke_suite import QUICK_SELECTION, run_smoke


def main() -> int:
    args = arguments(__doc__).parse_args()
    require_second_stack()
    section = Section(
        "Local bring-up (second stack, ports +200)",
        ["start", "`local up` to healthy", "`realm apply`", "`smoke`", "to a smoke-tested realm", "smoke outcome"],
    )
    smoke_args = QUICK_SELECTION if args.quick else ()
    idpkit("local", "fetch")  # the cold-without-download start needs the archive in the usual cache
    starts: list[tuple[str, dict[str, str], bool]] = []
    scratch = Path(tempfile.mkdtemp(prefix="idpkit-bench-download-"))
    try:
        if args.quick:
            section.note("--quick: the download-included start is skipped and smoke runs `-k discovery` only")
        else:
            fresh = dict(os.environ, IDPKIT_CACHE_DIR=str(scratch / "cache"))
            fresh["MAVEN_OPTS"] = f"{os.environ.get('MAVEN_OPTS', '')} -Dmaven.repo.local={scratch / 'm2'}".strip()
            starts.append(("cold, download included", fresh, True))
        starts += [("cold, download excluded", dict(os.environ), True), ("warm (state kept)", dict(os.environ), False)]
        for label, env, purge in starts:
            idpkit("local", "down", *(["--purge"] if purge else []), env=env)
            up = idpkit("local", "up", "--json", env=env)
            apply = idpkit("realm", "apply", "--stack", "local", env=env)
            smoke = run_smoke(smoke_args, env=env)
            total = up.seconds + apply.seconds + smoke.command_seconds
            section.add(label, f"{up.seconds:.1f} s", f"{apply.seconds:.1f} s", f"{smoke.command_seconds:.1f} s",
                        f"{total:.1f} s", smoke.summary)  # fmt: skip
            for test in smoke.failed:
                section.note(f"{label}: smoke test failed: {test}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    section.note("each figure is a command's wall time as a user runs it (`idpkit ...`, interpreter start-up included)")
    section.note("cold starts include unpacking the archive and `kc.sh build` (Quarkus augmentation) on this machine")
    section.note("warm: the realm is already in the database, so `realm apply` makes no write call")
    save([section], args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
