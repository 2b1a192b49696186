#!/usr/bin/env python3
"""Regenerate holidays_jp_2016_2027.csv, the independent holiday table that
crates/billing/tests/holidays_source.rs compares calendar.rs with.

The names and dates come from the Python package `holidays` (country JP,
Japanese names). The dates are cross-checked with the independent package
`jpholiday`; the script fails if the two disagree on any date.

    python3 -m venv /tmp/hol
    /tmp/hol/bin/pip install holidays==0.109 jpholiday==1.0.3
    /tmp/hol/bin/python crates/billing/data/regen_holidays.py \\
        > crates/billing/data/holidays_jp_2016_2027.csv

Only extend LAST_YEAR to years whose equinox days have been announced in the
官報 (each February for the following year); later equinox days are
projections.
"""

import sys
from importlib.metadata import version

import holidays
import jpholiday

FIRST_YEAR = 2016
LAST_YEAR = 2027
COMMAND = (
    "python3 -m venv /tmp/hol"
    " && /tmp/hol/bin/pip install holidays=={h} jpholiday=={j}"
    " && /tmp/hol/bin/python crates/billing/data/regen_holidays.py"
    " > crates/billing/data/holidays_jp_2016_2027.csv"
)


def main() -> int:
    rows = []
    mismatches = []
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        table = holidays.country_holidays("JP", years=year, language="ja")
        ours = sorted(table)
        other = sorted(d for d, _ in jpholiday.year_holidays(year))
        if ours != other:
            mismatches.append((year, sorted(set(ours) ^ set(other))))
        rows.extend((d.isoformat(), table[d]) for d in ours)
    if mismatches:
        for year, days in mismatches:
            print(f"holidays and jpholiday disagree in {year}: {days}", file=sys.stderr)
        return 1
    print(
        f"# source: Python package holidays {version('holidays')} (country JP, language ja);"
        f" dates cross-checked with jpholiday {version('jpholiday')};"
        f" regenerate: {COMMAND.format(h=version('holidays'), j=version('jpholiday'))}"
    )
    print("date,name_ja")
    for date, name in rows:
        print(f"{date},{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
