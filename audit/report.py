"""The audit's results and their two renderings: a deterministic markdown report (CI diffs it
against the committed docs/cookie-audit.md) and JSON for machines.

Deterministic means: no timestamps, no ports, no random values (tokens, device ids, slugs),
lifetimes in whole days, and every list in a stable order.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from audit.rules import MODES, STATES, Mode, State


@dataclass(frozen=True, slots=True)
class CookieSeen:
    """A cookie a browser held after some step of a scenario."""

    browser: str
    name: str
    domain: str
    days: int | None  # whole days left when first seen; None for a session cookie
    same_site: str
    secure: bool
    http_only: bool
    preset: bool  # on the browser before the scenario started
    rewritten: bool  # written again (another value) after it was first seen
    at_end: bool  # still held when the scenario ended
    permitted: bool
    why: str

    def label(self) -> str:
        life = "session" if self.days is None else f"{self.days} d"
        flags = [life, self.same_site]
        if self.secure:
            flags.append("Secure")
        if self.http_only:
            flags.append("HttpOnly")
        notes = []
        if self.preset:
            notes.append("pre-set")
        if self.rewritten:
            notes.append("written again")
        if not self.at_end:
            notes.append("gone at the end")
        note = f" [{', '.join(notes)}]" if notes else ""
        return f"`{self.name}` ({self.domain}, {', '.join(flags)}){note}"


@dataclass(frozen=True, slots=True)
class Finding:
    """An unpermitted write: a cookie written or kept, or a storage entry, without a permit."""

    scenario: str
    mode: str
    state: str
    surface: str
    browser: str
    step: str
    subject: str  # the cookie name or storage key
    place: str  # where on the tracker (by path), or the origin of a storage entry
    kind: str  # "written", "kept", "stored"
    rule: str

    def what(self) -> str:
        if self.kind == "stored":  # the subject names the storage and its key already
            return f"{self.subject} stored on the {self.place}"
        return f"`{self.subject}` {self.kind} by the {self.place}"

    def sentence(self) -> str:
        return (
            f"mode `{self.mode}`, {self.state}, {self.surface}: {self.what()} "
            f"({self.browser}, step “{self.step}”): {self.rule}"
        )


@dataclass(frozen=True, slots=True)
class StepRecord:
    browser: str
    label: str
    reasons: tuple[str, ...]  # X-Consentry-Decision values, in the order the responses came
    writes: tuple[str, ...]  # "name at place" for every Set-Cookie that set a value
    held: tuple[str, ...]  # cookie names held after the step


@dataclass(slots=True)
class ScenarioResult:
    id: str
    group: str  # "matrix" or "rfc"
    mode: Mode
    state: State
    surface: str
    title: str
    steps: list[StepRecord] = field(default_factory=list)
    cookies: list[CookieSeen] = field(default_factory=list)
    storage: list[str] = field(default_factory=list)  # "localStorage key on origin"
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None

    @property
    def reasons(self) -> list[str]:
        return sorted({reason for step in self.steps for reason in step.reasons})

    @property
    def result(self) -> str:
        if self.error is not None:
            return "ERROR"
        return "ok" if not self.findings else "UNPERMITTED"


@dataclass(slots=True)
class AuditResult:
    target: str
    modes: list[Mode]
    scenarios: list[ScenarioResult] = field(default_factory=list)
    # What each state's browser held before its scenarios started (cookie names).
    prepared: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [finding for scenario in self.scenarios for finding in scenario.findings]

    @property
    def errors(self) -> list[ScenarioResult]:
        return [scenario for scenario in self.scenarios if scenario.error is not None]

    @property
    def verdict(self) -> str:
        if self.findings:
            return "FAIL"
        return "INCOMPLETE" if self.errors else "PASS"

    @property
    def exit_code(self) -> int:
        """1 on any unpermitted write; 2 when a scenario could not run; 0 on a pass."""
        if self.findings:
            return 1
        return 2 if self.errors else 0

    def surfaces(self) -> list[str]:
        return sorted({s.surface for s in self.scenarios if s.group == "matrix"})

    def to_json(self) -> str:
        data = {
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "target": self.target,
            "modes": [str(m) for m in self.modes],
            "prepared": self.prepared,
            "notes": self.notes,
            "surfaces": self.surfaces(),
            "unpermitted": [asdict(f) for f in self.findings],
            "errors": [{"scenario": s.id, "error": s.error} for s in self.errors],
            "scenarios": [
                {
                    "id": s.id,
                    "group": s.group,
                    "mode": str(s.mode),
                    "state": str(s.state),
                    "surface": s.surface,
                    "title": s.title,
                    "result": s.result,
                    "reasons": s.reasons,
                    "cookies": [asdict(c) for c in s.cookies],
                    "storage": s.storage,
                    "steps": [asdict(step) for step in s.steps],
                    "findings": [asdict(f) for f in s.findings],
                    "error": s.error,
                }
                for s in self.scenarios
            ],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def to_markdown(self, rules_table: str) -> str:
        out: list[str] = []
        add = out.append
        add("# Cookie audit")
        add("")
        add(
            "Generated by `python manage.py cookie_audit --format md`; do not edit by hand. "
            "CI regenerates it and fails when it differs from this file, and the command "
            "exits non-zero on any unpermitted write."
        )
        add("")
        add(f"Target: {self.target}")
        add("")
        for note in self.notes:
            add(f"- {note}")
        if self.notes:
            add("")
        add("## Verdict")
        add("")
        total = len(self.scenarios)
        if self.verdict == "PASS":
            add(
                f"**PASS**: {total} scenarios in modes {_modes(self.modes)}; no cookie and no "
                "storage entry without a permit."
            )
        else:
            add(
                f"**{self.verdict}**: {_count(len(self.findings), 'unpermitted write')} and "
                f"{_count(len(self.errors), 'scenario')} that could not run, out of {total}."
            )
            if self.findings:
                add("")
                add("Unpermitted writes:")
                add("")
                for finding in self.findings:
                    add(f"- {finding.sentence()}")
            if self.errors:
                add("")
                add("Scenarios that could not run:")
                add("")
                for scenario in self.errors:
                    add(f"- `{scenario.id}`: {scenario.error}")
        add("")
        add("## The rules")
        add("")
        add(
            "Judged by the audit itself from the gate's rules as docs/architecture.md states "
            "them, not by asking the gate (`audit/rules.py`): a broken gate cannot pass."
        )
        add("")
        add(rules_table)
        add("")
        add("## The browsers")
        add("")
        add(
            "Each scenario runs in a fresh Chromium context (incognito). The browser of each "
            "state is made through the product's own pages before the scenarios run:"
        )
        add("")
        add("| state | the browser holds | how |")
        add("| --- | --- | --- |")
        for state in STATES:
            if str(state) not in self.prepared:
                continue
            held = ", ".join(f"`{n}`" for n in self.prepared[str(state)]) or "nothing"
            add(f"| {state.label} | {held} | {_HOW[state]} |")
        add("")
        # Problem by problem, each in every mode.
        rfc = sorted(
            (s for s in self.scenarios if s.group == "rfc"),
            key=lambda s: (s.id.split("/")[-1], MODES.index(s.mode)),
        )
        if rfc:
            add("## The six cookie problems, step by step")
            add("")
            add(
                "The request for comments “Improving Mautic's GDPR Compliance - Cookie "
                "Management”, Problems 1 to 6, step by step (cookies are not cleared between "
                "steps: stricter). Expected, this product's: no cookie without a permit."
            )
            add("")
            add(_table(rfc, first="mode", second="scenario"))
            add("")
        for mode in self.modes:
            rows = [s for s in self.scenarios if s.group == "matrix" and s.mode is mode]
            if not rows:
                continue
            add(f"## Mode `{mode}`")
            add("")
            add(_table(rows, first="state", second="surface"))
            add("")
        return "\n".join(out).rstrip() + "\n"


_HOW = {
    State.NONE: "nothing: a fresh browser",
    State.GRANTED: "“Allow tracking” on /privacy/choices",
    State.REFUSED: "“Refuse tracking” on /privacy/choices",
    State.GPC: "nothing; every request carries `Sec-GPC: 1`",
    State.DNC: (
        "the set-cookie form submitted with the contact's email and the tracking box ticked "
        "(grant and device tied to the contact), then the contact unsubscribed (one-click "
        "POST); its email links are that contact's"
    ),
}


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" + ("" if number == 1 else "s")


def _modes(modes: list[Mode]) -> str:
    return ", ".join(f"`{m}`" for m in sorted(modes, key=MODES.index))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(rows: list[ScenarioResult], *, first: str, second: str) -> str:
    lines = [
        f"| {first} | {second} | cookies found | permitted because | gate reasons | result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in rows:
        head = str(s.mode) if first == "mode" else s.state.label
        name = s.title if second == "scenario" else s.surface
        found = [
            (f"{c.browser}: " if c.browser != "visitor" else "") + c.label() for c in s.cookies
        ]
        found += [f"storage: {entry}" for entry in s.storage]
        why = sorted(
            {
                f"`{c.name}`: {c.why}" if c.permitted else f"`{c.name}`: NOT PERMITTED, {c.why}"
                for c in s.cookies
            }
        )
        result = s.result
        if s.findings:
            result += ": " + "; ".join(f"{f.what()} ({f.rule})" for f in s.findings)
        if s.error:
            result += f": {s.error}"
        cells = [
            head,
            name,
            "<br>".join(found) or "none",
            "<br>".join(why) or "—",
            ", ".join(f"`{r}`" for r in s.reasons) or "—",
            result,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)
