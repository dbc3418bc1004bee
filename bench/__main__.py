"""All figures in one run: `bench/run` or `python -m bench [--short]`; prints one table and writes
`bench/results/latest.json`.

Three fresh stacks (dev server + sandbox + worker + API) keep figures from disturbing each other: ingest and ack
(worker stopped, thousands of new workflows), then cost, handoff, turns and scale-out, then scale (it fills the
AI worker's TaskRouter capacity on its own).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from rich.console import Console

from bench import ack, cost, handoff, ingest, scale, scaleout, turns
from bench.report import machine, print_table, write_json, write_markdown
from bench.stack import Stack
from bench.stats import Row, median

SHORT = {
    "ingest": ["--n", "200", "--repeats", "3"],
    "ack": ["--duration", "10", "--step-duration", "4"],
    "cost": ["--turns", "5", "--rep-replies", "3"],
    "handoff": ["--n", "8"],
    "turns": ["--n", "80", "--duration", "15"],
    "scaleout": ["--n", "32", "--duration", "12"],
    "scale": ["--n", "300", "--history-turns", "30"],
}
FULL: dict[str, list[str]] = {k: [] for k in SHORT}  # each figure's own defaults = the sizes


def _args(module: Any, argv: list[str]) -> argparse.Namespace:
    return module.add_args(argparse.ArgumentParser()).parse_args(argv)


async def run_all(short: bool, only: set[str] | None, console: Console) -> list[Row]:
    sizes = SHORT if short else FULL
    rows: list[Row] = []

    def want(name: str) -> bool:
        return only is None or name in only

    async def guarded(name: str, coro: object) -> list[Row]:
        console.rule(f"[bold]{name}")
        t = time.monotonic()
        try:
            out: list[Row] = await coro  # type: ignore[misc]
        except Exception as exc:  # one broken figure must not hide the others
            console.print_exception(max_frames=5)
            out = [
                Row(
                    figure=name,
                    metric="did not complete",
                    value=f"{type(exc).__name__}: {exc}"[:200],
                    verdict="short",
                )
            ]
        console.print(f"[dim]{name}: {time.monotonic() - t:.0f} s[/dim]")
        return out

    if want("ingest") or want("ack"):
        async with Stack(console, label="ingest") as stack:
            floor = None
            if want("ingest"):
                got = await guarded("1 ingest", ingest.figure(stack, _args(ingest, sizes["ingest"]), console))
                rows += got
                floor = median(got[0].raw.get("raw_rates") or []) if got and got[0].raw else None
            if want("ack"):
                await stack.stop_proc("worker")
                rows += await guarded("2 ack", ack.figure(stack, _args(ack, sizes["ack"]), console, floor=floor))
    if any(want(n) for n in ("cost", "handoff", "turns", "scaleout")):
        async with Stack(console, label="turns") as stack:
            for name, module, label in (
                ("cost", cost, "5 cost"),
                ("handoff", handoff, "4 handoff"),
                ("turns", turns, "3 turns"),
                ("scaleout", scaleout, "7 scale-out"),
            ):
                if want(name):
                    rows += await guarded(label, module.figure(stack, _args(module, sizes[name]), console))
    if want("scaleout"):
        rows += await guarded(
            "7 scale-out, slot-bound", scaleout.slot_bound(_args(scaleout, sizes["scaleout"]), console)
        )
    if want("scale"):
        async with Stack(console, label="scale") as stack:
            rows += await guarded("6 scale", scale.figure(stack, _args(scale, sizes["scale"]), console))
    order = ["1", "2", "3", "4", "5", "6", "7"]
    rows.sort(key=lambda r: order.index(r.figure[0]) if r.figure[:1] in order else 99)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", action="store_true", help="smaller sizes: the whole run in about five minutes")
    p.add_argument("--only", nargs="*", choices=sorted(SHORT), help="run only these figures")
    args = p.parse_args()
    console = Console()
    load_before = os.getloadavg()
    started = time.monotonic()
    rows = asyncio.run(run_all(args.short, set(args.only) if args.only else None, console))
    mode = "short" if args.short else "full"
    title = f"wa-flex-handoff benchmarks ({mode}, {time.monotonic() - started:.0f} s) on {machine()}"
    print_table(rows, console, title)
    notes = [
        f"load average before the run: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
        "everything (dev server with its SQLite file, sandbox, worker, API, this driver) shares the machine",
    ]
    path = write_json(rows, mode=mode, notes=notes)
    write_markdown(rows, title, notes)
    if not args.short and not args.only:
        write_json(rows, mode=mode, name="full.json", notes=notes)  # the sizes, kept beside latest
    console.print(f"[dim]written {path}[/dim]")


if __name__ == "__main__":
    main()
