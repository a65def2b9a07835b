"""UDF speed: VA_PRICE in-process, and VA_LADDER over 300 positions through xlwings' dispatcher.

Run: ``python benchmarks/bench_udfs.py`` (prints a Markdown table).  The dispatcher path needs
XLWINGS_ON_SERVER=true and a license key; the script re-executes itself with both set.
Targets: VA_PRICE < 1 ms a call, VA_LADDER (300 positions, dispatcher) < 50 ms a call.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import timeit


def _positions(n: int = 300) -> list[list]:
    rows = [["underlying", "kind", "side", "strike", "expiry", "contracts", "premium"]]
    for i in range(n):
        rows.append(["ASST", "put", "short", [2.0, 2.5, 3.0, 4.0, 5.0][i % 5], [45947, 45982, 46010][i % 3],
                     1 + i % 10, 0.5 + 0.01 * (i % 50)])
    return rows


def main() -> None:
    import xlwings as xw
    from xlwings import pro

    import udfs.functions as F

    def best(fn, number: int) -> float:
        return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e3

    pos = _positions()
    market = [[[3.15]], [[4.25]], [[0.04]], [[0.0]], [[45927]]]

    def call(name, args):
        data = {"func_name": name, "args": args, "version": xw.__version__, "client": "Office.js",
                "runtime": "1.4", "culture_info_name": "en-US", "date_format": "m/d/yyyy"}
        return asyncio.run(pro.custom_functions_call(data, F))

    rows = [
        ("VA_PRICE American, in-process", best(lambda: F.VA_PRICE(3.15, 3.0, 30, 4.25, "P", 0.04, 0, 45927), 200), 1.0),
        ("VA_PRICE European, in-process", best(lambda: F.VA_PRICE(3.15, 3.0, 30, 4.25, "P", 0.04, 0, 45927, "E"), 200), 1.0),
        ("VA_PRICE American, dispatcher", best(lambda: call("VA_PRICE", [[[3.15]], [[3.0]], [[30]], [[4.25]], [["P"]]]), 100), 1.0),
        ("VA_LADDER 300 positions, in-process", best(lambda: F.VA_LADDER(pos, 3.15, 4.25, 0.04, 0, 45927), 5), 50.0),
        ("VA_LADDER 300 positions, dispatcher", best(lambda: call("VA_LADDER", [pos, *market]), 5), 50.0),
    ]
    print("| call | ms per call | target ms | ok |\n|---|---:|---:|---|")
    for name, ms, target in rows:
        print(f"| {name} | {ms:.3f} | {target:g} | {'yes' if ms < target else 'NO'} |")


if __name__ == "__main__":
    if os.environ.get("XLWINGS_ON_SERVER") != "true":
        env = {**os.environ, "XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial"}
        sys.exit(subprocess.call([sys.executable, *sys.argv], env=env))
    main()
