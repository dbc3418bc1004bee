"""The consoles the CLI prints to. Off a terminal (a pipe, a log file, CI) nothing is wrapped or cut, so paths,
URLs and tokens' file names can be copied whole; on a terminal long lines wrap where the terminal wraps them."""

from __future__ import annotations

from rich.console import Console

# Wide enough for any path or URL; tables still size to their content.
_UNBOUNDED = 100_000


def make_console(*, stderr: bool = False) -> Console:
    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = _UNBOUNDED
    return console
