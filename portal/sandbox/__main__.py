"""`python -m portal.sandbox --port 5055`: serve the emulators on loopback."""

from __future__ import annotations

import argparse

from werkzeug.serving import WSGIRequestHandler, run_simple

from .app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Cliniko, VaocherApp and Reckon One emulators")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--clinics", type=int, default=0, help="more clinics of one agency")
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no line per request (benchmarks: the request log at /_sandbox/requests remains)",
    )
    args = parser.parse_args()
    app = create_app(seed=args.seed, scale=args.scale, extra_clinics=args.clinics)
    handler = _QuietHandler if args.quiet else WSGIRequestHandler
    run_simple(
        args.host, args.port, app, threaded=True, use_reloader=False, request_handler=handler
    )


class _QuietHandler(WSGIRequestHandler):
    """Formatting and writing a line per request is a tenth of the emulators' CPU under a
    benchmark's load, which shares the cores with what it measures."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


if __name__ == "__main__":
    main()
