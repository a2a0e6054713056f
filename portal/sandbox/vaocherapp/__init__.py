"""The VaocherApp API emulator under /vaocherapp/v1: accounts, vouchers and their ledgers, the
shop and staff operations, signed webhooks and the seed.

It imports only the sandbox core (`..core`, `..names`, `..story`) and its own modules; every guess
about the real API is in `assumptions.py`. The blueprint is `api.bp`.
"""
