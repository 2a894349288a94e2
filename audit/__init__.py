"""The cookie audit: every public surface, in every tracking mode and consent state, driven in
a real Chromium, with every cookie and storage entry it leaves judged against a table of rules
written down from the gate's rules (docs/architecture.md, "The gate") in `audit.rules`,
independently of the consent gate's code.

`python manage.py cookie_audit` runs it (see `audit/management/commands/cookie_audit.py`);
`run_audit(target, ...)` runs it in-process and returns an `AuditResult`, for tests.

The rules, in short (the full table is `audit.rules`' docstring, and the report's):
- `consentry_device` only with a permit (a grant in mode consent or always, or mode always
  without refusal, GPC or Do-Not-Contact), never on the email open pixel, the unsubscribe,
  resubscribe and web-view pages or the privacy-choices page, and from a form only with its
  set-cookie switch on and not as a kiosk; Do-Not-Contact beats any grant;
- `consentry_consent` only when the visitor made a choice (or to remember a refusal for a
  contact on Do-Not-Contact);
- `consentry_focus_{id}` only from that focus item's view pixel;
- anything else never; Mautic's legacy cookies expired by the end of every scenario;
- no localStorage, sessionStorage or IndexedDB entry on the host page's origin or the tracker's.

Modules:
- `rules`: the table and the judge (no Django, no Playwright, no gate);
- `targets`: the server audited (in this process, or a deployment through its REST API);
- `host`: the host site, the customer's pages that embed the tracker;
- `browser`: Chromium through Playwright (imported lazily): its launch, shared with the browser
  tests, and one person's browser, whose every step is recorded and judged;
- `scenarios`: what each scenario visits and does, and the browsers the states start with;
- `run`: `run_audit`, the plan of modes, states and scenarios, played in one Chromium;
- `report`: the results, as deterministic markdown or JSON;
- `local`: the command's default run, in a child process on a throwaway database.
"""

from audit.report import AuditResult, Finding, ScenarioResult
from audit.rules import MODES, STATES, Mode, State

__all__ = ["MODES", "STATES", "AuditResult", "Finding", "Mode", "ScenarioResult", "State"]
