"""Time and peak Python memory of parsing each hostile stack file (tests/hostile + generated).

    .venv/bin/python scripts/hostile-timings.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stacks import stackfile
from stacks.config import ConfigError
from tests.test_hostile import CASES, CORPUS, GENERATED


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Pulumi.h.yaml"
        for name in sorted(CASES):
            data = GENERATED[name].encode() if name in GENERATED else (CORPUS / name).read_bytes()
            path.write_bytes(data)
            tracemalloc.start()
            start = time.perf_counter()
            try:
                stackfile.parse(path, prefix="archipelago:", secret_placeholder="[secret]")
            except ConfigError:
                pass
            ms = (time.perf_counter() - start) * 1000
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            print(f"| {name} | {len(data):,} | {ms:.1f} | {peak:.1f} |")


if __name__ == "__main__":
    main()
