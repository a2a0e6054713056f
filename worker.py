"""Start an RQ worker inside an app context: `python worker.py [--with-scheduler] [--burst]`.

A SimpleWorker runs each job in this process, so when the worker is killed its job dies with it
(no orphaned work-horse); the run's heartbeat then stops and the run is marked interrupted.
"""

from __future__ import annotations

import argparse
import logging

from rq import SimpleWorker

from portal import create_app
from portal.cli import optimize_database
from portal.extensions import db, get_redis
from portal.jobs.queue import worker_queues
from portal.jobs.runs import sweep_later, sweep_stale_runs
from portal.jobs.schedule_tick import ensure_tick


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the portal's RQ worker")
    parser.add_argument("--with-scheduler", action="store_true", help="also run RQ's scheduler")
    parser.add_argument("--burst", action="store_true", help="quit when the queue is empty")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        sweep_stale_runs()
        db.session.commit()  # always: on SQLite even a no-op UPDATE holds the write lock until then
        # If this worker replaces one that just died, its run is not stale yet: sweep again once
        # it is (the tick also sweeps, each minute).
        stale = app.config["JOB_STALE_AFTER_SECONDS"] + app.config["JOB_HEARTBEAT_SECONDS"]
        sweep_later(app, stale)
        optimize_database()
        if args.with_scheduler:
            ensure_tick()  # scheduled syncs and reports: the tick then re-queues itself
        # Interactive work first: RQ takes from the first non-empty queue of the list.
        worker = SimpleWorker(worker_queues(), connection=get_redis())
        logging.getLogger("rq.worker").setLevel(logging.INFO)
        worker.work(with_scheduler=args.with_scheduler, burst=args.burst)


if __name__ == "__main__":
    main()
