"""Run the trade_basic simulator: ``python -m local.trade_sim --app-id tt… --app-key 1=app_pub.pem``.

Secrets come only from the environment, never from the command line (argv is visible to every
user of the machine): TRADE_SIM_CLIENT_SECRET (required) and TRADE_SIM_PLATFORM_PRIVATE_KEY
(optional PEM; a fresh RSA-2048 key is generated without it). App public keys are not secret and
are read from files. The first line printed is the base URL; with --platform-public-key-out the
platform public key PEM (what a callback receiver verifies with) is written to that file.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import textwrap

from ..shutdown import OK, SERVER_EXIT_CODES, USAGE, StopSignals
from .config import NOTICE_TYPES, TradeSimulatorConfig
from .simulator import TradeSimulator


def _port_problem(port: int, exc: OSError) -> str:
    return (
        f"python -m local.trade_sim: cannot listen on 127.0.0.1:{port} for --port ({exc.strerror or exc}); "
        "choose another port with --port PORT, or --port 0 for any free port"
    )


def _mapping(text: str) -> tuple[str, str]:
    prefix, sep, target = text.partition("=")
    if not sep or not prefix or not target:
        raise argparse.ArgumentTypeError("expected PREFIX=URL, e.g. https://callback.localhost=http://127.0.0.1:8123")
    return prefix, target


def _app_key(text: str) -> tuple[str, str]:
    version, sep, path = text.partition("=")
    if not sep or not version or not path:
        raise argparse.ArgumentTypeError("expected KEY_VERSION=PATH_TO_PUBLIC_PEM, e.g. 1=app_public.pem")
    try:
        return version, pathlib.Path(path).read_text(encoding="ascii")
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {exc}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.trade_sim",
        description=__doc__,
        epilog=textwrap.fill(SERVER_EXIT_CODES, 100),  # the description's raw layout applies to it too
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--app-id", required=True, help="the mini-app's appid / client_key (tt…)")
    parser.add_argument(
        "--app-key", type=_app_key, action="append", default=[], metavar="VERSION=PEM_FILE", help="an app public key"
    )
    parser.add_argument("--port", type=int, default=0, help="0 = a free port (the default)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--default-notify-url", help="the solution-configured callback URL (none: nothing is sent)")
    parser.add_argument("--deliver-to", type=_mapping, action="append", default=[], metavar="PREFIX=URL")
    parser.add_argument("--duplicates", type=int, default=0)
    parser.add_argument("--drop", action="append", default=[], choices=[*NOTICE_TYPES, "all"])
    parser.add_argument("--platform-public-key-out", type=pathlib.Path, metavar="FILE")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    secret = os.environ.get("TRADE_SIM_CLIENT_SECRET", "")
    if not secret:
        parser.error("set TRADE_SIM_CLIENT_SECRET in the environment")
    config = TradeSimulatorConfig(
        app_id=args.app_id,
        client_secret=secret,
        app_public_keys=dict(args.app_key),
        platform_private_key_pem=os.environ.get("TRADE_SIM_PLATFORM_PRIVATE_KEY") or None,
        port=args.port,
        speed=args.speed,
        default_notify_url=args.default_notify_url,
        deliver_to=dict(args.deliver_to),
        duplicates=args.duplicates,
        drop="all" if "all" in args.drop else frozenset(args.drop),
    )
    with StopSignals() as signals:  # before starting: a signal during start-up is not lost
        try:
            sim = TradeSimulator(config).start()
        except OSError as exc:
            print(_port_problem(args.port, exc), file=sys.stderr)
            return USAGE
        try:
            if args.platform_public_key_out is not None:
                args.platform_public_key_out.write_text(sim.platform_public_key_pem, encoding="ascii")
            print(sim.base_url, flush=True)
            signals.wait()
        finally:
            sim.stop()
    print("stopped", file=sys.stderr)
    return OK


if __name__ == "__main__":
    sys.exit(main())
