"""`python -m twilio_sandbox [--host 127.0.0.1 --port 8400 --seed FILE --db FILE]`: serve the sandbox, print its URL
and SIDs (the secrets only through `GET /_sandbox/seed`, never into a log)."""

from __future__ import annotations

import argparse
import json

import uvicorn

from twilio_sandbox.app import create_app
from twilio_sandbox.seed import SandboxSeed

# The seed's secrets: a console is usually captured into a log file (`run` keeps one per process).
SECRET_KEYS = ("auth_token", "api_key_secret")


def printable_seed_info(info: dict[str, object], base_url: str) -> dict[str, object]:
    shown = {k: v for k, v in info.items() if k not in SECRET_KEYS}
    shown["credentials"] = f"GET {base_url}/_sandbox/seed"
    return shown


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m twilio_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400)
    parser.add_argument("--seed", help="seed file (JSON or TOML); default: the built-in seed")
    parser.add_argument("--db", help="SQLite file that keeps the state across restarts (default: memory only)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    seed = SandboxSeed.load(args.seed) if args.seed else SandboxSeed()
    base_url = f"http://{args.host}:{args.port}"
    app = create_app(seed, base_url=base_url, db=args.db)
    info = app.state.sandbox.seed_info()
    print(f"Twilio sandbox listening on {base_url}", flush=True)
    print(json.dumps(printable_seed_info(info, base_url), indent=2), flush=True)
    if args.db:
        print(f"state kept in {args.db}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
