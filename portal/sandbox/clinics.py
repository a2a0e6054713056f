"""The demo clinics, in one place: every seed module and the control plane read this list."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClinicSpec:
    """One clinic as the portal's demo knows it, and where its Cliniko account lives."""

    name: str
    agency: str
    shard: str
    subdomain: str
    suburb: str
    state: str
    post_code: str
    time_zone: str
    profession: str


# Distinct shards so clients must build the base URL from each key's suffix.
CLINICS: tuple[ClinicSpec, ...] = (
    ClinicSpec(
        "Bondi Physio",
        "Harbour Health Partners",
        "au1",
        "bondiphysio",
        "Bondi Beach",
        "NSW",
        "2026",
        "Australia/Sydney",
        "Physiotherapy",
    ),
    ClinicSpec(
        "Manly Allied Health",
        "Harbour Health Partners",
        "au2",
        "manlyalliedhealth",
        "Manly",
        "NSW",
        "2095",
        "Australia/Sydney",
        "Allied Health",
    ),
    ClinicSpec(
        "Coogee Podiatry",
        "Harbour Health Partners",
        "au3",
        "coogeepodiatry",
        "Coogee",
        "NSW",
        "2034",
        "Australia/Sydney",
        "Podiatry",
    ),
    ClinicSpec(
        "Chatswood Physio",
        "Northside Physio Group",
        "uk1",
        "chatswoodphysio",
        "Chatswood",
        "NSW",
        "2067",
        "Australia/Sydney",
        "Physiotherapy",
    ),
)
SHARDS = ("au1", "au2", "au3", "au4", "uk1")


def agency_clinics(count: int) -> tuple[ClinicSpec, ...]:
    """`count` more clinics of one large agency, for benchmarks of many clinics at once."""
    return tuple(
        ClinicSpec(
            f"Agency Clinic {n:04d}",
            "Bench Agency",
            SHARDS[n % len(SHARDS)],
            f"agencyclinic{n:04d}",
            "Sydney",
            "NSW",
            "2000",
            "Australia/Sydney",
            "Physiotherapy",
        )
        for n in range(1, count + 1)
    )
