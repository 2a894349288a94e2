"""The focus builder's checks: what an operator saves must show and work the way the builder
suggests. Each problem names the box whose message explains it."""

from __future__ import annotations

from html.parser import HTMLParser

from focus.colours import colour_contrast
from focus.models import FocusItem, Frequency, Trigger
from focus.services import FOCUS_ATTRIBUTES, FOCUS_TAGS
from forms.validation import Problem

# WCAG's minimum for large text; below it a headline is hard to read for many people.
MIN_CONTRAST = 3.0
# The longest wait that still meets a visitor: longer, and most have left the page.
MAX_DELAY_S = 600


class _Removed(HTMLParser):
    """The tags and attributes of the item's text that are dropped before it is shown."""

    def __init__(self) -> None:
        super().__init__()
        self.removed: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in FOCUS_TAGS:
            self.removed.add(f"<{tag}>")
            return
        allowed = FOCUS_ATTRIBUTES.get(tag, set())
        self.removed.update(f"{name}=" for name, _ in attrs if name not in allowed)


def focus_problems(*, item: FocusItem) -> list[Problem]:
    problems = []
    if item.button_url and item.form_id:
        problems.append(
            Problem(
                "form",
                "The button opens either a link or a form, not both: with both, the link wins "
                "and the form never opens. Clear the button link or the form.",
            )
        )
    elif item.button_label and not (item.button_url or item.form_id):
        problems.append(
            Problem(
                "button_label",
                "A button needs a link or a form to open; without one no button is shown. "
                "Add one, or clear the label.",
            )
        )
    if item.form is not None and item.published and not item.form.published:
        problems.append(
            Problem(
                "form",
                f"The form “{item.form.name}” is not published: the button would open "
                "nothing. Publish the form first, or untick Published here.",
            )
        )
    problems += _trigger_problems(item)
    if item.frequency == Frequency.EVERY_N_MINUTES and item.frequency_minutes < 1:
        problems.append(Problem("frequency_minutes", "At least 1 minute, e.g. 30."))
    ratio = colour_contrast(item.foreground, item.background)
    if ratio < MIN_CONTRAST:
        problems.append(
            Problem(
                "foreground",
                f"The text would be hard to read on this background: contrast {ratio:.1f}:1, "
                f"and at least {MIN_CONTRAST:.0f}:1 is needed (4.5:1 reads well). Choose a "
                "lighter or darker colour.",
            )
        )
    removed = _Removed()
    removed.feed(item.text)
    if removed.removed:
        problems.append(
            Problem(
                "text",
                "Visitors would not see these, as they are removed before the text is shown: "
                f"{', '.join(sorted(removed.removed))}. Remove them from the text.",
            )
        )
    return problems


def _trigger_problems(item: FocusItem) -> list[Problem]:
    value, trigger = item.trigger_value, item.trigger
    label = Trigger(trigger).label
    if trigger in (Trigger.IMMEDIATELY, Trigger.EXIT_INTENT) and value:
        return [
            Problem(
                "trigger_value",
                f"“{label}” takes no value: set it to 0, or choose “After N seconds” or "
                "“At N % scroll”.",
            )
        ]
    if trigger == Trigger.DELAY and not 1 <= value <= MAX_DELAY_S:
        return [
            Problem(
                "trigger_value",
                f"The number of seconds to wait, from 1 to {MAX_DELAY_S}, e.g. 5 (for no wait, "
                "choose “Immediately”).",
            )
        ]
    if trigger == Trigger.SCROLL and not 1 <= value <= 100:
        return [
            Problem(
                "trigger_value",
                "How far down the page, in percent from 1 to 100, e.g. 50 for half-way.",
            )
        ]
    return []
