"""Benchmark the contact import: N contacts (100,000 by default) from a CSV shaped like
Mautic's contact export, each with consent evidence and one in twenty on Do-Not-Contact,
imported into PostgreSQL by `manage.py contacts_import`, then imported again (which must
change nothing).

    .venv/bin/python bench/contacts_import.py [--rows 100000]

It owns the PostgreSQL database `consentry_import_bench` (dropped and created at the start,
dropped at the end) and a temporary directory for the CSV, and nothing else. It exits 1 when
the first import takes a minute or more, or when the database does not hold exactly what the
file says after both imports.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
DATABASE = "consentry_import_bench"
BUDGET_S = 60.0

_COUNT = """
from consent.models import ConsentRecord
from contacts.models import Contact, DoNotContact
print(Contact.objects.count(), ConsentRecord.objects.filter(imported=True).count(),
      DoNotContact.objects.count())
"""


def csv_write(path: Path, rows: int) -> int:
    """Write the file; returns how many contacts are on Do-Not-Contact in it."""
    start = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
    dnc = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "id",
                "email",
                "firstname",
                "lastname",
                "company",
                "city",
                "date_added",
                "consent_purpose",
                "consent_action",
                "consent_at",
                "consent_source",
                "consent_notice",
                "dnc_email",
            ]
        )
        for n in range(rows):
            on_dnc = n % 20 == 0
            dnc += on_dnc
            at = start + dt.timedelta(minutes=n)
            writer.writerow(
                [
                    n + 1,
                    f"person{n}@example.com",
                    f"First{n}",
                    f"Last{n}",
                    f"Company {n % 500}",
                    ("London", "Berlin", "Wien", "Paris")[n % 4],
                    at.strftime("%Y-%m-%d %H:%M:%S"),
                    "email",
                    "withdrawn" if on_dnc else "granted",
                    at.isoformat(),
                    "mautic-form",
                    "2021-12",
                    "1" if on_dnc else "0",
                ]
            )
    return dnc


def _env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "TZ")}
    return {
        **keep,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
    }


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql],
        check=True,
        timeout=60,
    )


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(PYTHON), "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    options = parser.parse_args()
    env = _env()
    _psql(f"DROP DATABASE IF EXISTS {DATABASE}")
    _psql(f"CREATE DATABASE {DATABASE}")
    try:
        _manage(env, "migrate", "--verbosity", "0")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "mautic-contacts.csv"
            dnc = csv_write(path, options.rows)
            size = path.stat().st_size
            began = time.monotonic()
            first = _manage(env, "contacts_import", str(path), "--quiet-progress")
            took = time.monotonic() - began
            began = time.monotonic()
            second = _manage(env, "contacts_import", str(path), "--quiet-progress")
            again = time.monotonic() - began
        counts = [int(n) for n in _manage(env, "shell", "-c", _COUNT).splitlines()[-1].split()]
    finally:
        _psql(f"DROP DATABASE IF EXISTS {DATABASE}")
    expected = [options.rows, options.rows, dnc]
    print(f"file: {options.rows} rows, {size / 1e6:.1f} MB")
    print(f"first import:  {took:.1f} s ({options.rows / took:,.0f} rows/s): {first.strip()}")
    print(f"second import: {again:.1f} s: {second.strip()}")
    print(f"held: contacts, imported consent records, DNC entries = {counts} (want {expected})")
    print(
        f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" {dt.datetime.now(tz=dt.UTC):%Y-%m-%d}"
    )
    ok = counts == expected and took < BUDGET_S and "0 contacts were created" in second
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
