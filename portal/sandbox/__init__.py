"""Emulators of the Cliniko, VaocherApp and Reckon One APIs, served over real HTTP.

It stands where the real services would be: it imports nothing from the rest of the portal.
"""
