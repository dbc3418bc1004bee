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
AddArgs = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def figure_main(name: str, figure: Figure, add_args: AddArgs, doc: str | None) -> None:
    """`python -m bench.<name>`: the figure's options under its module's docstring."""
    args = add_args(
        argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ).parse_args()
    console = Console()

    async def go() -> list[Row]:
        async with Stack(console, label=name) as stack:
            return await figure(stack, args, console)

    rows = asyncio.run(go())
    print_table(rows, console, f"wa-flex-handoff benchmark: {name}")
    path = write_json(rows, mode=f"{name} alone", name=f"{name}.json")
    console.print(f"[dim]written {path}[/dim]")
