"""Running one figure alone: argument parsing, a fresh stack, the table, `bench/results/<figure>.json`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from rich.console import Console

from bench.report import print_table, write_json
from bench.stack import Stack
from bench.stats import Row

Figure = Callable[[Stack, argparse.Namespace, Console], Awaitable[list[Row]]]


def figure_main(name: str, figure: Figure, parser: argparse.ArgumentParser) -> None:
    args = parser.parse_args()
    console = Console()

    async def go() -> list[Row]:
        async with Stack(console, label=name) as stack:
            return await figure(stack, args, console)

    rows = asyncio.run(go())
    print_table(rows, console, f"wa-flex-handoff benchmark: {name}")
    path = write_json(rows, mode=f"{name} alone", name=f"{name}.json")
    console.print(f"[dim]written {path}[/dim]")
