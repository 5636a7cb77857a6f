"""The review as one self-contained HTML page for auditors: no scripts, no external assets.

The page opens with the verdict and the counts, then what fails and why, the exceptions in force
and the latest smoke run; the detail follows, grouped by rule under each rule's plain-language
title, so a reader who is not an engineer can stop after the first screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape

from idpkit.compliance import REQUIREMENTS
from idpkit.review.model import Family, Review, Rule, Verdict
from idpkit.review.render_md import proven_by
from idpkit.review.summary import Summary, show, summarize
from idpkit.review.traceability import Trace, coverage, trace

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2733;
  margin:0;background:#f4f6f8}
main{max-width:1180px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:28px;margin:0 0 4px}h2{font-size:21px;margin:36px 0 8px;border-bottom:2px solid #dde3ea;
  padding-bottom:4px}h3{font-size:17px;margin:24px 0 4px}
.meta{color:#5b6b7c;margin:0 0 16px}
.verdict{border-radius:8px;padding:16px 20px;margin:16px 0;font-size:18px}
.verdict.pass{background:#e3f5e8;border:2px solid #2e8b4e}.verdict.fail{background:#fdeaea;border:2px solid #c0392b}
.verdict.incomplete{background:#fdf3e1;border:2px solid #b9770e}
.verdict strong{font-size:24px;margin-right:8px}.verdict ul{margin:8px 0 0;font-size:15px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:12px;margin:16px 0}
.card{border:1px solid #dde3ea;border-radius:8px;padding:12px 14px;background:#fafbfc}
.card .n{font-size:30px;font-weight:700;display:block}.card .l{color:#5b6b7c;font-size:13px}
.card.bad .n{color:#c0392b}.card.good .n{color:#2e8b4e}.card.warn .n{color:#b9770e}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:13.5px}
th,td{border:1px solid #dde3ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6}td code,td.path{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12.5px;
  word-break:break-all}
.tag{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600;color:#fff}
.critical{background:#8e1b10}.high{background:#c0392b}.medium{background:#b9770e}.low{background:#5b6b7c}
.ok{color:#2e8b4e;font-weight:600}.no{color:#c0392b;font-weight:600}.muted{color:#5b6b7c}
.rule{border-left:4px solid #dde3ea;padding:2px 0 2px 14px;margin:18px 0}
.rule p{margin:2px 0}details summary{cursor:pointer;font-weight:600;margin:8px 0}
"""


def _e(value: object) -> str:
    return escape(str(value))


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _severity(rule: Rule | None) -> str:
    if rule is None:
        return ""
    level = rule.metadata.severity.value
    return f'<span class="tag {level}">{level}</span>'


def _requirements(refs: Iterable[str]) -> str:
    return "<br>".join(f"<b>{_e(ref)}</b> {_e(REQUIREMENTS[ref])}" for ref in refs)


def render(review: Review) -> str:
    traces = trace(review)
    summary = summarize(review, traces)
    by_id = {rule.metadata.id: rule for rule in review.rules}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Security review: {_e(review.stack)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>Security review of the {_e(review.stack)} identity provider</h1>",
        f"<p class='meta'>Generated {review.generated:%d %B %Y, %H:%M} UTC by <code>idpkit review</code> from the "
        "code in this repository (realm configuration, AWS program, policy rules and smoke tests).</p>",
        _verdict(summary),
        _cards(summary),
        _signing_keys(review),
        _findings(review, by_id),
        _exceptions(review),
        _not_applicable(review),
        _smoke(review, by_id, summary),
        _coverage(review, traces),
        _settings(review, traces),
        _environments(review),
        _catalog(review),
        "</main></body></html>",
    ]
    return "\n".join(parts)


def _verdict(summary: Summary) -> str:
    if summary.verdict is Verdict.PASS:
        return (
            "<div class='verdict pass'><strong>PASS</strong>Every rule holds, no exception has expired, every "
            "realm setting is proven by a smoke check and the latest complete smoke run passed.</div>"
        )
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in summary.reasons)
    lead = (
        "This stack does not meet its rules:"
        if summary.verdict is Verdict.FAIL
        else "Nothing fails, but not everything is proven on the running stack:"
    )
    kind = summary.verdict.value.lower()
    return f"<div class='verdict {kind}'><strong>{summary.verdict}</strong>{lead}<ul>{reasons}</ul></div>"


def _cards(summary: Summary) -> str:
    smoke = summary.smoke
    cards = [
        ("good" if not summary.failing else "bad", summary.failing, "rule findings failing"),
        ("warn" if summary.waived else "good", summary.waived, "findings allowed by an exception"),
        ("bad" if summary.expired else "good", f"{summary.exceptions}", f"exceptions ({summary.expired} expired)"),
        (
            "bad" if smoke and smoke["failed"] else "good" if smoke else "warn",
            f"{smoke['passed']}/{sum(smoke.values())}" if smoke else "none",
            "smoke tests passed" if smoke else "no smoke run recorded",
        ),
        ("good", summary.enforced, "settings enforced by a rule"),
        (
            "bad" if summary.unproven else "good",
            summary.behavioural + summary.config_read,
            f"realm settings proven on the running stack ({summary.config_read} by config read)",
        ),
        ("bad" if summary.gaps else "good", summary.gaps, "settings with no requirement"),
        ("", " / ".join(str(summary.rules[f]) for f in Family), "rules: realm / AWS / smoke"),
    ]
    return (
        "<div class='cards'>"
        + "".join(
            f"<div class='card {kind}'><span class='n'>{_e(n)}</span><span class='l'>{_e(label)}</span></div>"
            for kind, n, label in cards
        )
        + "</div>"
    )


def _findings(review: Review, by_id: dict[str, Rule]) -> str:
    if not review.findings:
        return "<h2>What fails</h2><p class='ok'>No rule reports a finding.</p>"
    rows = []
    for finding in sorted(review.findings, key=lambda f: (f.waived_by is not None, f.rule_id)):
        rule = by_id.get(finding.rule_id)
        status = (
            f"<span class='muted'>allowed until {finding.waived_by.expires}</span>"
            if finding.waived_by
            else "<span class='no'>fails</span>"
        )
        rows.append(
            [
                status,
                f"{_severity(rule)} {_e(rule.metadata.title if rule else finding.rule_id)}"
                f"<br><span class='muted'>{_e(finding.rule_id)}</span>",
                f"<code>{_e(finding.subject)}</code><br>{_e(finding.message)}",
                _e(rule.metadata.remediation if rule else ""),
            ]
        )
    return "<h2>What fails</h2>" + _table(["status", "rule", "where and why", "how to fix"], rows)


def _signing_keys(review: Review) -> str:
    rows = [
        [
            f"<b>{_e(stack)}</b>" if stack == review.stack else _e(stack),
            _e(location.where) if location else "<span class='muted'>unknown</span>",
            ("<span class='no'>exportable</span>" if location.exportable else "<span class='ok'>non-exportable</span>")
            if location
            else "",
            _e(location.detail) if location else "<span class='muted'>the stack was never brought up</span>",
        ]
        for stack, location in review.signing_keys.items()
    ]
    return "<h2>Where the realm signing key lives</h2>" + _table(
        ["stack", "key service", "private key", "how tokens are signed"], rows
    )


def _exceptions(review: Review) -> str:
    if not review.exceptions:
        return "<h2>Exceptions in force</h2><p>None: every rule applies in full.</p>"
    rows = [
        [
            "<span class='no'>EXPIRED</span>" if e.expired(review.today) else "<span class='ok'>in force</span>",
            _e(e.rule_id),
            f"<code>{_e(e.path)}</code>",
            _e(e.reason),
            _e(e.owner),
            _e(e.expires),
            f"<code>{_e(e.file)}</code>",
        ]
        for e in review.exceptions
    ]
    return "<h2>Exceptions in force</h2>" + _table(
        ["status", "rule", "setting", "justification", "owner", "expires", "file"], rows
    )


def _not_applicable(review: Review) -> str:
    if not review.not_applicable:
        return "<h2>Smoke credentials declared not applicable</h2><p>None: every smoke check must run here.</p>"
    rows = [[_e(n.credential), _e(n.reason), _e(n.owner), f"<code>{_e(n.file)}</code>"] for n in review.not_applicable]
    return (
        "<h2>Smoke credentials declared not applicable</h2><p>Checks that need these are reported not applicable "
        "on this stack, not passed.</p>" + _table(["credential", "justification", "owner", "file"], rows)
    )


def _smoke(review: Review, by_id: dict[str, Rule], summary: Summary) -> str:
    run = review.smoke_run
    if run is None:
        return "<h2>Latest smoke test run</h2><p class='no'>No smoke run recorded for this stack.</p>"
    rows = [
        [
            "<span class='ok'>passed</span>" if r.outcome == "passed" else f"<span class='no'>{_e(r.outcome)}</span>"
            if r.outcome == "failed" else f"{_e(r.outcome)}<br><span class='muted'>{_e(r.reason)}</span>",
            _e(by_id[r.check].metadata.title if r.check in by_id else r.check),
            f"<code>{_e(r.test)}</code>",
        ]
        for r in sorted(run.results, key=lambda r: r.outcome != "failed")
    ]  # fmt: skip
    missing = "".join(f"<li><code>{_e(test)}</code></li>" for test in summary.never_ran)
    return (
        f"<h2>Latest smoke test run</h2><p>Recorded {run.recorded:%d %B %Y, %H:%M} UTC, {run.seconds:.1f} s "
        f"(<code>{_e(run.path)}</code>).</p>"
        + _table(["outcome", "what it proves", "test"], rows)
        + (f"<p class='no'>Tests of the suite this run did not include:</p><ul>{missing}</ul>" if missing else "")
    )


def _coverage(review: Review, traces: list[Trace]) -> str:
    rows = [
        [
            f"<b>{_e(c.requirement)}</b><br>{_e(c.text)}",
            _e(c.settings),
            _e(", ".join(c.rules)) or "<span class='muted'>none</span>",
            _e(", ".join(c.checks)) or "<span class='muted'>none</span>",
        ]
        for c in coverage(review, traces)
    ]
    return "<h2>Requirements and what satisfies them</h2>" + _table(
        ["requirement", "settings", "rules", "smoke checks (live proof)"], rows
    )


def _settings(review: Review, traces: list[Trace]) -> str:
    parts = [
        "<h2>Security settings, by the rule that enforces them</h2>",
        "<p>Each setting's value as the code sets it for this stack. <i>Enforced</i>: weakening the value makes "
        "the rule refuse the configuration (realm) or the deployment (AWS). <i>Configures</i>: the setting "
        "switches on or tunes what the rule secures.</p>",
    ]
    if review.aws_note:
        parts.append(f"<p class='muted'>{_e(review.aws_note)}</p>")
    for rule in review.rules:
        if rule.family is Family.SMOKE:
            continue
        rows = [t for t in traces if rule in t.rules]
        if not rows:
            continue
        m = rule.metadata

        def how(t: Trace, rule_id: str = m.id) -> str:
            return "enforced" if rule_id in t.setting.enforced_by else "configures"

        table = _setting_table(rows, how)
        parts.append(
            f"<div class='rule'><h3>{_severity(rule)} {_e(m.title)} <span class='muted'>{_e(m.id)}</span></h3>"
            f"<p><b>Requirements:</b><br>{_requirements(m.requirements)}</p><p><b>Risk if broken:</b> {_e(m.risk)}</p>"
            f"{table}</div>"
        )
    unruled = [t for t in traces if not t.rules and t.proofs]
    parts.append("<h3>Settings no rule checks, proven by smoke checks</h3>")
    parts.append(_setting_table(unruled, lambda _t: "proven") if unruled else "<p>None.</p>")
    gaps = [t for t in traces if t.gap]
    labels = [t for t in traces if t.setting.descriptive]
    parts.append("<h3>Settings no rule covers</h3>")
    parts.append(
        _table(["setting", "value", "source"], [[f"<code>{_e(t.setting.path)}</code>",
               f"<code>{_e(show(t.setting.value))}</code>", f"<code>{_e(t.setting.source)}</code>"] for t in gaps])
        if gaps else "<p class='ok'>None.</p>"
    )  # fmt: skip
    parts.append(
        "<p class='muted'>Names and labels (not security controls): "
        + ", ".join(f"<code>{_e(t.setting.path)}</code>" for t in labels)
        + "</p>"
    )
    return "\n".join(parts)


def _setting_table(rows: list[Trace], how: Callable[[Trace], str]) -> str:
    return _table(
        ["setting", "value", "how", "proven on the running stack by", "source"],
        [
            [
                f"<code>{_e(t.setting.path)}</code>",
                f"<code>{_e(show(t.setting.value))}</code>",
                how(t),
                _e(proven_by(t)),
                f"<code>{_e(t.setting.source)}</code>",
            ]
            for t in rows
        ],
    )


def _environments(review: Review) -> str:
    parts = ["<h2>Environments side by side</h2><p>Only the settings whose values differ are listed.</p>"]
    for family, title, envs in (
        (Family.REALM, "Realm settings", review.realm_environments),
        (Family.AWS, "AWS hardened properties", review.aws_environments),
    ):
        rows = [row for row in review.environment_rows if row.family is family]
        differing = [row for row in rows if row.differs]
        parts.append(f"<h3>{title}: {len(differing)} of {len(rows)} differ</h3>")
        parts.append(
            _table(
                ["setting", *envs],
                [
                    [f"<code>{_e(r.path)}</code>"]
                    + [
                        f"<code>{_e(show(r.values[e]))}</code>" if r.values[e] is not None else "<i>unset</i>"
                        for e in envs
                    ]
                    for r in differing
                ],
            )
        )
    return "\n".join(parts)


def _catalog(review: Review) -> str:
    rows = [
        [
            f"{_e(m.id)}<br>{_severity(r)}",
            _e(r.family.value),
            _e(m.title),
            _e(", ".join(m.requirements)),
            _e(m.risk),
            _e(m.remediation),
        ]
        for r in review.rules
        for m in [r.metadata]
    ]
    return "<h2>All rules and smoke checks</h2>" + _table(
        ["id", "kind", "what it ensures", "requirements", "risk", "remediation"], rows
    )
