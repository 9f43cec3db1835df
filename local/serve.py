"""`python -m local.serve`: run the whole local stack until Ctrl-C or SIGTERM.

Options: `--schedules` (fire rate() schedules on their own), `--api-port`, `--aws-port`,
`--sandbox-port` (0 = a free port), `--template`, `--log-dir`, `--no-sandboxes` and
`--ready-file PATH` (written with the URLs as JSON once everything is up).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from local.stack.config import StackSettings
from local.stack.stack import LocalStack


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line options (defaults come from the environment, see local/README.md)."""
    defaults = StackSettings()
    parser = argparse.ArgumentParser(prog="python -m local.serve", description=__doc__)
    parser.add_argument("--schedules", action="store_true", help="fire rate() schedules")
    parser.add_argument("--api-port", type=int, default=defaults.api_port)
    parser.add_argument("--aws-port", type=int, default=defaults.aws_port)
    parser.add_argument("--sandbox-port", type=int, default=defaults.sandbox_port)
    parser.add_argument("--template", type=Path, default=defaults.template)
    parser.add_argument("--log-dir", type=Path, default=defaults.log_dir)
    parser.add_argument("--no-sandboxes", action="store_true", help="do not start the sandboxes")
    parser.add_argument("--ready-file", type=Path, help="write the URLs here (JSON) when up")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the stack, print its URLs, wait for a signal, stop cleanly."""
    args = parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("FLEETBRIDGE_LOCAL_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # moto and the API emulator both serve through werkzeug: its per-request lines are noise
    # (the emulator logs its own requests under local.stack.apigw)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # httpx logs every URL the sandboxes' webhook sender posts to, and ServiceTrade's carries
    # the connection's secret (`?secret=`, the only way it authenticates): not in our logs
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stack = LocalStack(
        StackSettings(
            template=args.template,
            api_port=args.api_port,
            aws_port=args.aws_port,
            sandbox_port=args.sandbox_port,
            log_dir=args.log_dir,
            schedules=args.schedules,
            sandboxes=not args.no_sandboxes,
        )
    )
    try:
        stack.start()
    except OSError as exc:
        print(f"local stack failed to start: {exc}", file=sys.stderr)
        return 1
    try:
        urls = stack.urls()
        print("fleetbridge local stack is up (Ctrl-C to stop)")
        print(f"  API            {urls['api']}")
        print(f"  API docs       {urls['docs']}")
        print(f"  AWS (moto)     {urls['aws']}")
        print(f"  vendor sandbox {urls['sandboxes']}")
        print(f"  function logs  {urls['logs']}")
        print(
            f"  schedules      {'on their rates' if args.schedules else 'POST /_local/schedules/<Fn>'}"
        )
        sys.stdout.flush()
        if args.ready_file:
            partial = args.ready_file.with_suffix(".tmp")
            partial.write_text(json.dumps(urls))
            partial.replace(args.ready_file)
        while not stop.wait(0.5):
            pass
    finally:
        print("stopping the local stack", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
