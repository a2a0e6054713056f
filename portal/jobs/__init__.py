"""Background jobs: the run lifecycle and one module per job kind.

The lifecycle: `kind.py` (what a kind declares), `kinds.py` (the table of kinds), `start.py`
(create a run and queue its id), `runner.py` (the RQ entry: run the body, retry, follow-ups),
`context.py` (the item loop, progress, cancel, heartbeat), `runs.py` (run records and the
stale-run sweep), `schedule_tick.py` (the one-minute tick) and `queue.py`. Every other module is
one kind: it loads ids, builds work items, calls services, commits and reports progress, and
declares its `JobKind`. Jobs may import services, models, extensions and tenancy; never
`portal.clients` or `portal.web`, and kind modules never import `start` or `runner`.
"""
