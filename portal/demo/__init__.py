"""The demo: seeded agencies, clinics and people, and links to the sandbox's accounts.

Not domain code: only the CLI, the launcher and the demo job use it. May import services and models.
"""
