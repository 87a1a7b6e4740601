#!/usr/bin/env python
"""Write docs/reference.md, the field reference of every input file, from the JSON Schemas.

    python scripts/gen_reference.py          # rewrite docs/reference.md
    python scripts/gen_reference.py --check  # exit 1 if docs/reference.md is out of date

The same text is printed by ``cimcost schema --markdown``; tests/test_schema.py fails when the
committed file differs from it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cimcost.schema import markdown

TARGET = Path(__file__).resolve().parent.parent / "docs" / "reference.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the file is current")
    parser.add_argument("--output", type=Path, default=TARGET, help=f"default: {TARGET}")
    args = parser.parse_args()
    text = markdown()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python scripts/gen_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
