"""Background jobs: `start.py` queues runs by id, `runner.py` executes them, one module per kind."""
