"""Run the simulator: ``python -m local.douyin_sim --app-id tt… --port 0``.

The SALT and the callback token are read from DOUYIN_SIM_SALT / DOUYIN_SIM_TOKEN, never from the
command line (argv is visible to every user of the machine). The app secret for the order-sync
access token is read from DOUYIN_SIM_APP_SECRET; unset, it is random and no token can be fetched.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..shutdown import OK, SERVER_EXIT_CODES, USAGE, StopSignals
from .config import NOTICE_TYPES, SimulatorConfig
from .simulator import DouyinSimulator


def _port_problem(port: int, exc: OSError) -> str:
    return (
        f"python -m local.douyin_sim: cannot listen on 127.0.0.1:{port} for --port ({exc.strerror or exc}); "
        "choose another port with --port PORT, or --port 0 for any free port"
    )


def _mapping(text: str) -> tuple[str, str]:
    prefix, sep, target = text.partition("=")
    if not sep or not prefix or not target:
        raise argparse.ArgumentTypeError("expected PREFIX=URL, e.g. https://callback.localhost=http://127.0.0.1:8123")
    return prefix, target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.douyin_sim", description=__doc__, epilog=SERVER_EXIT_CODES)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--thirdparty-id", help="service-provider mode: requests must carry it")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port (the default)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--default-notify-url", help="the console-configured callback URL")
    parser.add_argument("--deliver-to", type=_mapping, action="append", default=[], metavar="PREFIX=URL")
    parser.add_argument("--duplicates", type=int, default=0)
    parser.add_argument("--drop", action="append", default=[], choices=[*NOTICE_TYPES, "all"])
    args = parser.parse_args(argv)

    salt = os.environ.get("DOUYIN_SIM_SALT", "")
    token = os.environ.get("DOUYIN_SIM_TOKEN", "")
    if not salt or not token:
        parser.error("set DOUYIN_SIM_SALT and DOUYIN_SIM_TOKEN in the environment")

    extra = {"app_secret": app_secret} if (app_secret := os.environ.get("DOUYIN_SIM_APP_SECRET")) else {}
    config = SimulatorConfig(
        app_id=args.app_id,
        salt=salt,
        token=token,
        thirdparty_id=args.thirdparty_id,
        port=args.port,
        speed=args.speed,
        default_notify_url=args.default_notify_url,
        deliver_to=dict(args.deliver_to),
        duplicates=args.duplicates,
        drop="all" if "all" in args.drop else frozenset(args.drop),
        **extra,
    )
    with StopSignals() as signals:  # before starting: a signal during start-up is not lost
        try:
            sim = DouyinSimulator(config).start()
        except OSError as exc:
            print(_port_problem(args.port, exc), file=sys.stderr)
            return USAGE
        try:
            print(sim.base_url, flush=True)
            signals.wait()
        finally:
            sim.stop()
    print("stopped", file=sys.stderr)
    return OK


if __name__ == "__main__":
    sys.exit(main())
