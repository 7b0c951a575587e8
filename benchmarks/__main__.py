"""``python -m benchmarks [--quick] [--only 1,3] [--json | --markdown] [--strict]
[--save-json PATH]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from pathlib import Path

from ._config import FULL, QUICK
from ._report import as_json, as_markdown, as_table
from ._runner import FIGURES, run


def _selection(text: str) -> list[int]:
    try:
        chosen = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected figure numbers like 1,3; got {text!r}"
        ) from None
    unknown = [number for number in chosen if number not in FIGURES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"figures are 1..{len(FIGURES)}; got {text!r}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="agentcloud against its limits and its peers, on a local emulator process.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round (smoke)")
    parser.add_argument("--only", type=_selection, default=sorted(FIGURES), help="e.g. 1,3")
    parser.add_argument("--rounds", type=int, help="rounds per figure (default 5; quick 1)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable results")
    output.add_argument("--markdown", action="store_true", help="the RESULTS.md section")
    parser.add_argument("--strict", action="store_true", help="exit 1 on a MISS (full mode only)")
    parser.add_argument("--save-json", metavar="PATH", help="also write the JSON results there")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.rounds is not None:
        sizes = replace(sizes, rounds=max(1, args.rounds))
    rows = asyncio.run(run(args.only, sizes))
    mode = "quick" if args.quick else "full"
    if args.save_json:
        Path(args.save_json).write_text(as_json(rows, mode=mode) + "\n")
    if args.json:
        print(as_json(rows, mode=mode))
    elif args.markdown:
        print(as_markdown(rows, mode=mode))
    else:
        print(as_table(rows))
    missed = [row.key for row in rows if not row.passed]
    if missed and args.strict and not args.quick:
        print(f"missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
