"""The control plane under /_sandbox: what the real services do not expose to an API client.

`plane` resets and inspects the whole sandbox (seed, clock, faults, rate limits, request log);
`cliniko`, `vaocherapp` and `reckon` are the staff, shop and test-only actions of each upstream.
It may import the sandbox core and the provider subpackages; nothing imports it but `app.py`.
"""
