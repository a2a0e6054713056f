"""`python -m portal.sandbox --port 5055`: serve the emulators on loopback."""

from __future__ import annotations

import argparse

from werkzeug.serving import run_simple

from .app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Cliniko, VaocherApp and Reckon One emulators")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--clinics", type=int, default=0, help="more clinics of one agency")
    args = parser.parse_args()
    app = create_app(seed=args.seed, scale=args.scale, extra_clinics=args.clinics)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
