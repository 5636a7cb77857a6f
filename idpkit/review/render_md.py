"""The review as Markdown (for pull requests and diffs between reviews)."""

from __future__ import annotations

from idpkit.compliance import REQUIREMENTS
from idpkit.review.model import Family, Review
from idpkit.review.summary import show, summarize
from idpkit.review.traceability import Trace, coverage, trace


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def render(review: Review) -> str:
    traces = trace(review)
    summary = summarize(review, traces)
    titles = {rule.metadata.id: rule.metadata.title for rule in review.rules}
    out = [
        f"# Security review: stack `{review.stack}`",
        "",
        f"Generated {review.generated:%Y-%m-%d %H:%M} UTC by `idpkit review`. Verdict: **{summary.verdict}**",
        "",
    ]
    out += [f"- {summary.verdict}: {reason}" for reason in summary.reasons]
    out += [
        "",
        "## Summary",
        "",
        *_table(
            ["", "count"],
            [
                ["Rules (realm / AWS / smoke checks)", " / ".join(str(summary.rules[f]) for f in Family)],
                ["Security settings listed", summary.settings],
                ["... enforced by a rule", summary.enforced],
                ["... configuring a rule's mechanism", summary.supporting],
                ["... names and labels", summary.descriptive],
                ["... with no requirement (gaps)", summary.gaps],
                ["Realm settings proven on the running stack by behaviour", summary.behavioural],
                ["... by a config read only (nothing observable shows them)", summary.config_read],
                ["... by no smoke check", summary.unproven],
                ["Failing findings", summary.failing],
                ["Findings waived by an exception", summary.waived],
                ["Exceptions (expired)", f"{summary.exceptions} ({summary.expired})"],
                [
                    "Smoke tests (latest run)",
                    ", ".join(f"{n} {o}" for o, n in sorted(summary.smoke.items()))
                    if summary.smoke is not None
                    else "no smoke run recorded",
                ],
            ],
        ),
        *_signing_keys(review),
        "## Findings",
        "",
    ]
    if review.findings:
        out += _table(
            ["status", "rule", "what", "where", "detail"],
            [
                ["waived" if f.waived_by else "FAIL", f.rule_id, titles.get(f.rule_id, ""), f.subject, f.message]
                for f in sorted(review.findings, key=lambda f: f.waived_by is not None)
            ],
        )
    else:
        out += ["No rule reports a finding.", ""]
    out += ["## Exceptions in force", ""]
    if review.exceptions:
        out += _table(
            ["rule", "path", "owner", "reason", "expires", "status", "file"],
            [
                [e.rule_id, e.path, e.owner, e.reason, e.expires, "EXPIRED" if e.expired(review.today) else "in force",
                 e.file]
                for e in review.exceptions
            ],
        )  # fmt: skip
    else:
        out += ["None.", ""]
    out += ["## Smoke credentials declared not applicable", ""]
    if review.not_applicable:
        out += _table(
            ["credential", "owner", "reason", "file"],
            [[n.credential, n.owner, n.reason, n.file] for n in review.not_applicable],
        )
    else:
        out += ["None: every smoke check must run on this stack.", ""]
    out += ["## Smoke tests (latest run)", ""]
    if review.smoke_run is None:
        out += ["No smoke run recorded for this stack.", ""]
    else:
        run = review.smoke_run
        out += [f"Run recorded {run.recorded:%Y-%m-%d %H:%M} UTC ({run.seconds:.1f} s), from `{run.path}`.", ""]
        out += _table(
            ["outcome", "check", "test", "reason"], [[r.outcome, r.check, r.test, r.reason] for r in run.results]
        )
        if summary.never_ran:
            out += [
                "Tests of the suite the run did not include:",
                "",
                *(f"- `{test}`" for test in summary.never_ran),
                "",
            ]
    out += ["## Requirement coverage", ""]
    out += _table(
        ["requirement", "asks for", "settings", "rules", "smoke checks"],
        [
            [c.requirement, c.text, c.settings, ", ".join(c.rules), ", ".join(c.checks)]
            for c in coverage(review, traces)
        ],
    )
    for family, heading in ((Family.REALM, "Realm settings"), (Family.AWS, "AWS hardened properties")):
        out += [f"## {heading}", ""]
        rows = [t for t in traces if t.setting.family is family]
        if family is Family.AWS and review.aws_note:
            out += [review.aws_note, ""]
            continue
        out += _table(
            ["setting", "value", "source", "rule", "requirements", "proven by"],
            [
                [
                    f"`{t.setting.path}`",
                    show(t.setting.value),
                    t.setting.source,
                    _rule_cell(t.setting.enforced_by, t.setting.supported_rule, t.setting.descriptive),
                    ", ".join(t.requirements) or ("(label)" if t.setting.descriptive else "GAP: none"),
                    proven_by(t),
                ]
                for t in rows
            ],
        )
    out += ["## Environments side by side (settings that differ)", ""]
    for family, envs in ((Family.REALM, review.realm_environments), (Family.AWS, review.aws_environments)):
        compared = [row for row in review.environment_rows if row.family is family]
        differing = [row for row in compared if row.differs]
        out += [f"{family.value}: {len(differing)} of {len(compared)} settings differ.", ""]
        out += _table(
            ["setting", *envs],
            [
                [f"`{r.path}`", *(show(r.values[e]) if r.values[e] is not None else "—" for e in envs)]
                for r in differing
            ],
        )
    out += ["## Rules and checks", ""]
    out += _table(
        ["id", "kind", "title", "severity", "requirements", "risk", "remediation"],
        [
            [m.id, r.family.value, m.title, m.severity.value, ", ".join(m.requirements), m.risk, m.remediation]
            for r in review.rules
            for m in [r.metadata]
        ],
    )
    out += ["## Requirement references", ""]
    out += _table(["reference", "asks for"], [[ref, text] for ref, text in REQUIREMENTS.items()])
    return "\n".join(out)


def _signing_keys(review: Review) -> list[str]:
    out = ["## Where the realm signing key lives", ""]
    return out + _table(
        ["stack", "key service", "private key", "how tokens are signed"],
        [
            [f"**{stack}**" if stack == review.stack else stack, "—", "unknown", "the stack was never brought up"]
            if location is None
            else [
                f"**{stack}**" if stack == review.stack else stack,
                location.where,
                "exportable" if location.exportable else "non-exportable",
                location.detail,
            ]
            for stack, location in review.signing_keys.items()
        ],
    )


def proven_by(t: Trace) -> str:
    """The smoke checks that prove a setting, config reads marked; AWS settings are read by policy rules."""
    if t.setting.family is Family.AWS:
        return "config read: policy rules on the resource graph"
    if t.setting.descriptive:
        return "(label)"
    checks = [f"{c.metadata.id}{' (config read)' if c.config_read else ''}" for c in t.proofs]
    return ", ".join(checks) or "UNPROVEN: no smoke check"


def _rule_cell(enforced: tuple[str, ...], supported: str | None, descriptive: bool) -> str:
    if enforced:
        return ", ".join(enforced)
    if supported:
        return f"configures {supported}"
    return "(label)" if descriptive else "GAP: no rule"
