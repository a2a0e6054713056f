"""Links into the Cliniko web app for a record (the URL shapes are assumed: Cliniko documents
its API, not its web app's paths), built only from values of the shape Cliniko sends."""

from __future__ import annotations

import re

# Cliniko's shards (the API key's suffix names one; each has its own hosts).
KNOWN_SHARDS = frozenset({"au1", "au2", "au3", "au4", "ca1", "uk1", "uk2", "eu1", "us1"})

ASSUMED_PATIENT_WEB_URL = "https://{subdomain}.{shard}.cliniko.com/patients/{id}"
ASSUMED_BILLABLE_ITEM_WEB_URL = (
    "https://{subdomain}.{shard}.cliniko.com/settings/billable_items/{id}"
)
ASSUMED_INVOICE_WEB_URL = "https://{subdomain}.{shard}.cliniko.com/invoices/{id}"

# Upstream values go into these links: only a well-formed subdomain, a known shard and a numeric
# id are used, so a hostile account setting cannot point a link at another host or path.
SUBDOMAIN_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_ID_PATTERN = re.compile(r"[0-9]{1,20}")


def valid_subdomain(subdomain: str) -> bool:
    return bool(SUBDOMAIN_PATTERN.fullmatch(subdomain or ""))


def _web_url(template: str, subdomain: str, shard: str, record_id: str) -> str:
    """The link, or "" when any part of it is not what Cliniko would send."""
    if not (valid_subdomain(subdomain) and shard in KNOWN_SHARDS):
        return ""
    if not _ID_PATTERN.fullmatch(str(record_id)):
        return ""
    return template.format(subdomain=subdomain, shard=shard, id=record_id)


def patient_web_url(subdomain: str, shard: str, patient_id: str) -> str:
    """Link to a patient in the Cliniko web app (URL shape assumed, see ASSUMED_PATIENT_WEB_URL)."""
    return _web_url(ASSUMED_PATIENT_WEB_URL, subdomain, shard, patient_id)


def billable_item_web_url(subdomain: str, shard: str, item_id: str) -> str:
    """Link to a billable item's settings page (URL shape assumed)."""
    return _web_url(ASSUMED_BILLABLE_ITEM_WEB_URL, subdomain, shard, item_id)


def invoice_web_url(subdomain: str, shard: str, invoice_id: str) -> str:
    """Link to an invoice in the Cliniko web app (URL shape assumed)."""
    return _web_url(ASSUMED_INVOICE_WEB_URL, subdomain, shard, invoice_id)
