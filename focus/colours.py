"""Colours of a focus item: how readable one is on another (WCAG 2's contrast ratio), so the
builder can refuse text nobody can read and the script can pick a readable button label."""

from __future__ import annotations

DARK_TEXT = "#111827"
LIGHT_TEXT = "#ffffff"


def _luminance(colour: str) -> float:
    """The relative luminance of #rrggbb (WCAG 2.x)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def colour_contrast(first: str, second: str) -> float:
    """From 1 (the same colour) to 21 (black on white)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def colour_text_on(background: str) -> str:
    """White or near-black, whichever reads better on `background`."""
    on_light = colour_contrast(background, DARK_TEXT)
    return DARK_TEXT if on_light > colour_contrast(background, LIGHT_TEXT) else LIGHT_TEXT


def colour_is_dark(background: str) -> bool:
    return colour_text_on(background) == LIGHT_TEXT
