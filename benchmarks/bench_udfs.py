"""UDF speed: VA_PRICE in-process, and VA_LADDER over 300 positions through xlwings' dispatcher.

Run: ``python benchmarks/bench_udfs.py`` (prints a Markdown table).  The dispatcher path needs
XLWINGS_ON_SERVER=true and a license key; the script re-executes itself with both set.
Targets: VA_PRICE < 1 ms a call, VA_LADDER (300 positions, dispatcher) < 50 ms a call.
The dispatcher rows depend on udfs/_xlwings_compat.py: xlwings 0.37.x's ``utils.is_jsnull``
retries a failing ``pyodide`` import on every cell (VA_LADDER x300 took ~99-142 ms with it).
VA_VAR rows (no target): the config's 100,000 scenarios on the first 7 positions above, a fresh
book each call vs the same book again (the seeded result is remembered).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _positions(n: int = 300) -> list[list]:
    rows = [["underlying", "kind", "side", "strike", "expiry", "contracts", "premium"]]
    for i in range(n):
        rows.append(
            [
                "ASST",
                "put",
                "short",
                [2.0, 2.5, 3.0, 4.0, 5.0][i % 5],
                [45947, 45982, 46010][i % 3],
                1 + i % 10,
                0.5 + 0.01 * (i % 50),
            ]
        )
    return rows


def main() -> None:
    import xlwings as xw
    from xlwings import pro

    import udfs.functions as F

    def best(fn, number: int) -> float:
        return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e3

    pos = _positions()
    market = [[[3.15]], [[4.25]], [[0.04]], [[0.0]], [[45927]]]

    # one long-lived event loop, as in xlwings Server (asyncio.run would add ~0.3 ms a call
    # creating and closing a loop, which no server does per request)
    loop = asyncio.new_event_loop()

    def call(name, args):
        data = {
            "func_name": name,
            "args": args,
            "version": xw.__version__,
            "client": "Office.js",
            "runtime": "1.4",
            "culture_info_name": "en-US",
            "date_format": "m/d/yyyy",
        }
        return loop.run_until_complete(pro.custom_functions_call(data, F))

    book = [pos[0], *pos[1:8]]

    def var_fresh():
        F._VAR_CACHE.clear()
        return F.VA_VAR(book, 3.15, 4.25, 0.04, 0, 45927)

    rows = [
        (
            "VA_PRICE American, in-process",
            best(lambda: F.VA_PRICE(3.15, 3.0, 30, 4.25, "P", 0.04, 0, 45927), 200),
            1.0,
        ),
        (
            "VA_PRICE European, in-process",
            best(lambda: F.VA_PRICE(3.15, 3.0, 30, 4.25, "P", 0.04, 0, 45927, "E"), 200),
            1.0,
        ),
        (
            "VA_PRICE American, dispatcher",
            best(lambda: call("VA_PRICE", [[[3.15]], [[3.0]], [[30]], [[4.25]], [["P"]]]), 100),
            1.0,
        ),
        (
            "VA_LADDER 300 positions, in-process",
            best(lambda: F.VA_LADDER(pos, 3.15, 4.25, 0.04, 0, 45927), 5),
            50.0,
        ),
        ("VA_LADDER 300 positions, dispatcher", best(lambda: call("VA_LADDER", [pos, *market]), 5), 50.0),
        ("VA_VAR 7 positions, 100k scenarios, new book", best(var_fresh, 3), None),
        (
            "VA_VAR 7 positions, 100k scenarios, same book",
            best(lambda: F.VA_VAR(book, 3.15, 4.25, 0.04, 0, 45927), 3),
            None,
        ),
    ]
    print("| call | ms per call | target ms | ok |\n|---|---:|---:|---|")
    for name, ms, target in rows:
        ok = "-" if target is None else ("yes" if ms < target else "NO")
        print(f"| {name} | {ms:.3f} | {'-' if target is None else f'{target:g}'} | {ok} |")


if __name__ == "__main__":
    if os.environ.get("XLWINGS_ON_SERVER") != "true":
        env = {**os.environ, "XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial"}
        sys.exit(subprocess.call([sys.executable, *sys.argv], env=env))
    main()
