"""Connections: each clinic's linked Cliniko, VaocherApp and Reckon accounts.

records (the stored connection, its sealed secrets and health), one module per provider (linking,
checking, building its client), and providers (the one table that maps a provider to its check).
May import models, clients and the audit service; never jobs or web.
"""
