"""A strict reader of the small part of PHP's serialize() format that WordPress's pixel sends.

WP Mautic's pixel carries the page's fields as `d=base64(serialize(array))`. Mautic itself
hands that text to PHP's unserialize(), which can build objects and so run their code. This
reader knows strings, integers, arrays and null, nothing else: an object (`O:`, `C:`), an enum
(`E:`), a reference (`r:`, `R:`), a float or a boolean is refused, and so is anything after
the value. It never reaches PHP object semantics, and Python's pickle is nowhere near it.
Every size is bounded before it is read, so a hostile payload costs at most its own length.

The grammar, as PHP writes it:
    value  := string | int | null | array
    string := 's:' LEN ':"' LEN bytes '";'      (LEN counts bytes, not characters)
    int    := 'i:' -?DIGITS ';'
    null   := 'N;'                              (WordPress before 4.5 sends a null referrer)
    array  := 'a:' COUNT ':{' (key value){COUNT} '}'
    key    := string | int
"""

from __future__ import annotations

import re
from typing import TypeAlias

# The biggest payload read at all, in bytes once base64 is undone.
MAX_INPUT = 16 * 1024
# Nesting: the pixel's array of fields, and one array below it for a plugin's filter.
MAX_DEPTH = 3
# Array entries in the whole payload (the pixel sends about ten).
MAX_ELEMENTS = 128
# One string, in bytes.
MAX_STRING = 8 * 1024
# An integer as PHP's 64-bit int holds it.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

Key = int | str
# A PHP array keeps its keys' order, as a dict does.
PhpValue: TypeAlias = str | int | dict[Key, "PhpValue"] | None

_LENGTH = re.compile(rb"0|[1-9][0-9]{0,8}")
_INTEGER = re.compile(rb"-?(?:0|[1-9][0-9]{0,18})")
_NAMES = {
    ord("O"): "an object",
    ord("C"): "an object",
    ord("E"): "an enum",
    ord("r"): "a reference",
    ord("R"): "a reference",
    ord("d"): "a float",
    ord("b"): "a boolean",
}


class PhpSerialRefused(ValueError):
    """The payload is not the strict subset this reader accepts; says where and why."""

    def __init__(self, detail: str, *, at: int) -> None:
        super().__init__(f"{detail} (at byte {at})")
        self.detail = detail
        self.at = at


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.elements = 0

    def refuse(self, detail: str) -> PhpSerialRefused:
        return PhpSerialRefused(detail, at=self.pos)

    def expect(self, token: bytes) -> None:
        if not self.data.startswith(token, self.pos):
            raise self.refuse(f"expected {token.decode()!r}")
        self.pos += len(token)

    def number(self, pattern: re.Pattern[bytes], end: bytes) -> int:
        found = pattern.match(self.data, self.pos)
        if found is None:
            raise self.refuse("expected a number")
        self.pos = found.end()
        self.expect(end)
        return int(found.group())

    def value(self, depth: int) -> PhpValue:
        tag = self.data[self.pos : self.pos + 1]
        if tag == b"s":
            return self.string()
        if tag == b"i":
            return self.integer()
        if tag == b"N":
            self.expect(b"N;")
            return None
        if tag == b"a":
            return self.array(depth + 1)
        if tag and tag[0] in _NAMES:
            raise self.refuse(f"{_NAMES[tag[0]]} is not accepted")
        raise self.refuse("expected a string, an integer, null or an array")

    def string(self) -> str:
        self.expect(b"s:")
        length = self.number(_LENGTH, b':"')
        if length > MAX_STRING:
            raise self.refuse(f"a string longer than {MAX_STRING} bytes")
        end = self.pos + length
        if end > len(self.data):
            raise self.refuse("a string runs past the end")
        raw = self.data[self.pos : end]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.refuse("a string is not UTF-8") from None
        self.pos = end
        self.expect(b'";')
        return text

    def integer(self) -> int:
        self.expect(b"i:")
        number = self.number(_INTEGER, b";")
        if not INT_MIN <= number <= INT_MAX:
            raise self.refuse("an integer out of PHP's range")
        return number

    def array(self, depth: int) -> dict[Key, PhpValue]:
        if depth > MAX_DEPTH:
            raise self.refuse(f"arrays nested deeper than {MAX_DEPTH}")
        self.expect(b"a:")
        count = self.number(_LENGTH, b":{")
        self.elements += count
        if self.elements > MAX_ELEMENTS:
            raise self.refuse(f"more than {MAX_ELEMENTS} array entries")
        result: dict[Key, PhpValue] = {}
        for _ in range(count):
            tag = self.data[self.pos : self.pos + 1]
            if tag == b"s":
                key: Key = self.string()
            elif tag == b"i":
                key = self.integer()
            else:
                raise self.refuse("an array key must be a string or an integer")
            if key in result:
                raise self.refuse("an array key repeats")
            result[key] = self.value(depth)
        self.expect(b"}")
        return result


def php_unserialize(data: bytes) -> dict[Key, PhpValue]:
    """The array `data` holds, or PhpSerialRefused. The outermost value must be an array, as
    Mautic requires of a pixel's payload."""
    if len(data) > MAX_INPUT:
        raise PhpSerialRefused(f"longer than {MAX_INPUT} bytes", at=MAX_INPUT)
    reader = _Reader(data)
    if not data.startswith(b"a:"):
        raise reader.refuse("the payload must be an array")
    result = reader.array(1)
    if reader.pos != len(data):
        raise reader.refuse("bytes after the array")
    return result


def php_serialize(value: PhpValue) -> bytes:
    """The same subset written as PHP's serialize() writes it (what WordPress sends)."""
    if value is None:
        return b"N;"
    if isinstance(value, bool):
        raise TypeError("booleans are outside the subset")
    if isinstance(value, int):
        return b"i:%d;" % value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return b's:%d:"%s";' % (len(raw), raw)
    entries = b"".join(php_serialize(k) + php_serialize(v) for k, v in value.items())
    return b"a:%d:{%s}" % (len(value), entries)
