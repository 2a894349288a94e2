from __future__ import annotations

# The largest id a database column holds (signed 64 bits): longer numbers in a URL are 404,
# not an overflow deep in the database driver.
MAX_ID = 2**63 - 1


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
