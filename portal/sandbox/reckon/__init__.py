"""The Reckon One emulator: the identity server under /reckon-identity and the v2 API under
/reckon/r1/v2, with its books, validation, money rules and the seed.

It imports only the sandbox core (`..clock`) and its own modules; every guess about the real
service is in `assumptions.py`. `blueprints.blueprints` lists what the app registers.
"""
