"""The Cliniko API emulator under /cliniko/<shard>/v1: accounts and their rows, the q[] query
language, writes, invoices and the seed.

It imports only the sandbox core (`..core`, `..store`, `..clinics`, `..names`, `..story`) and its
own modules; every guess about the real API is in `assumptions.py`. The blueprint is `routes.bp`.
"""
