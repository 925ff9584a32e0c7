"""Validations per minute with the default checks (goal: >= 120 per minute on 2 cores).

Usage: ``.venv/bin/python bench/validate.py [COUNT] [THREADS]``: validates COUNT generated
strategies (default 120) with THREADS validator threads sharing as many sandbox workers (default:
the number of cores) and prints the rate and the outcome of each check.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sixbtc.adapters.generator import CatalogueStrategySource
from sixbtc.adapters.inspection import AstCodeInspector
from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.application.validate import StrategyChecker


def main(count: int, threads: int) -> None:
    drafts = CatalogueStrategySource(seed=7).propose(count)
    with SandboxSignalSource(workers=threads) as sandbox:
        checker = StrategyChecker(AstCodeInspector(), sandbox)
        checker.reason(drafts[0].code)  # start the workers outside the timing
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            reasons = list(pool.map(lambda d: checker.reason(d.code), drafts))
        elapsed = time.perf_counter() - started
    outcomes = Counter((r or "validated").split(":")[0] for r in reasons)
    print(f"validated {count} strategies in {elapsed:.1f} s with {threads} threads")
    print(f"validations per minute: {count / elapsed * 60:.0f} (goal >= 120)")
    print(f"outcomes: {dict(outcomes)}")


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:]]
    main(*(arguments + [120, os.cpu_count() or 1][len(arguments) :]))
