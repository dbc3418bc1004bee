"""`python -m bench.faults --conversations 2000`: the larger fault run; prints the figures.

Starts its own stack (Temporal dev server, Twilio sandbox, worker, API) in a temporary directory unless
--data-dir is given, drives the conversations with every fault injected, checks from the sandbox's record, and
exits 1 if anything was lost, duplicated, leaked or left failing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from loadgen.chaos import ChaosConfig
from loadgen.faultrun import FaultRunConfig, run_faults


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    p.add_argument("--conversations", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--no-process-faults", action="store_true", help="no worker kills or restarts")
    p.add_argument(
        "--chaos-spacing",
        type=float,
        default=1.0,
        help="process faults this many times less often (the 2,000 run: kills per conversation as in the 200 run)",
    )
    p.add_argument("--webhook-drop-rate", type=float, default=0.05)
    p.add_argument("--ramp-seconds", type=float, help="spread the conversation starts (default N/10 s)")
    p.add_argument("--step-timeout", type=float, default=300.0)
    p.add_argument(
        "--oversize-every",
        type=int,
        help="every n-th conversation sends a 17 MiB video (the sandbox keeps its bytes; default: at most 50)",
    )
    p.add_argument(
        "--operator-repairs-ai-worker",
        action="store_true",
        help="an operator also puts the AI worker back to Available (diagnosis only: the service does it itself)",
    )
    p.add_argument(
        "--continue-as-new-after-events",
        type=int,
        default=None,
        help="every conversation continues as new after this many events (run boundaries under faults)",
    )
    p.add_argument(
        "--rep-break-seconds",
        type=float,
        default=0.0,
        help="in phase A the reps go Offline this long every minute (handoffs wait and hear their place)",
    )
    p.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = p.parse_args(argv)
    if args.conversations < 1:
        p.error("--conversations must be at least 1")
    if args.chaos_spacing <= 0:
        p.error("--chaos-spacing must be positive")
    cfg = FaultRunConfig(
        conversations=args.conversations,
        seed=args.seed,
        data_dir=args.data_dir,
        chaos=None if args.no_process_faults else ChaosConfig().spaced(args.chaos_spacing),
        webhook_drop_rate=args.webhook_drop_rate,
        ramp_seconds=args.ramp_seconds,
        step_timeout=args.step_timeout,
        continue_as_new_after_events=args.continue_as_new_after_events,
        repair_ai_worker=args.operator_repairs_ai_worker,
        rep_break_seconds=args.rep_break_seconds,
        oversize_every=args.oversize_every or max(10, args.conversations // 50),
    )
    result = run_faults(cfg, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(result.render())
    if args.json:
        args.json.write_text(json.dumps(result.model_dump(mode="json"), indent=2, default=str))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
