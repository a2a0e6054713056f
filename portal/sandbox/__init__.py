"""Emulators of the Cliniko, VaocherApp and Reckon One APIs, served over real HTTP.

It stands where the real services would be: it imports nothing from the rest of the portal.
One subpackage per upstream (`cliniko`, `vaocherapp`, `reckon`) and `control` for /_sandbox, beside
the shared core at this level; `app`, `world` and `middleware` put them together (see README.md).
"""
