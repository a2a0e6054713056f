"""Word lists for realistic Australian demo people and addresses."""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Olivia",
    "Charlotte",
    "Amelia",
    "Isla",
    "Mia",
    "Ava",
    "Grace",
    "Chloe",
    "Sophie",
    "Zoe",
    "Ruby",
    "Harper",
    "Matilda",
    "Ella",
    "Lily",
    "Jack",
    "Oliver",
    "William",
    "Noah",
    "Thomas",
    "James",
    "Lucas",
    "Henry",
    "Liam",
    "Charlie",
    "Cooper",
    "Leo",
    "Mason",
    "Hudson",
    "Archie",
    "Priya",
    "Wei",
    "Mei",
    "Arjun",
    "Minh",
    "Aroha",
    "Fatima",
    "Nikos",
    "Giulia",
    "Sean",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Wilson",
    "Taylor",
    "Nguyen",
    "Johnson",
    "Martin",
    "White",
    "Anderson",
    "Walker",
    "Thompson",
    "Harris",
    "Lee",
    "Ryan",
    "Robinson",
    "Kelly",
    "King",
    "Davis",
    "Wright",
    "Evans",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Chen",
    "Wang",
    "Tran",
    "Singh",
    "Papadopoulos",
    "Rossi",
    "O'Brien",
    "Murphy",
    "Campbell",
    "Scott",
)
STREETS = (
    "Campbell Parade",
    "Hall Street",
    "The Corso",
    "Pittwater Road",
    "Arden Street",
    "Coogee Bay Road",
    "Victoria Avenue",
    "Archer Street",
    "Pacific Highway",
    "Oxford Street",
    "Military Road",
    "King Street",
    "Chapel Street",
    "Lygon Street",
    "Sydney Road",
    "Glenferrie Road",
)
# (suburb, state, postcode): NSW around the clinics, plus a few Victorians who visit.
SUBURBS = (
    ("Bondi Beach", "NSW", "2026"),
    ("Bondi Junction", "NSW", "2022"),
    ("Manly", "NSW", "2095"),
    ("Dee Why", "NSW", "2099"),
    ("Coogee", "NSW", "2034"),
    ("Randwick", "NSW", "2031"),
    ("Chatswood", "NSW", "2067"),
    ("Willoughby", "NSW", "2068"),
    ("Lane Cove", "NSW", "2066"),
    ("Mosman", "NSW", "2088"),
    ("Newtown", "NSW", "2042"),
    ("Paddington", "NSW", "2021"),
    ("Fitzroy", "VIC", "3065"),
    ("Richmond", "VIC", "3121"),
    ("St Kilda", "VIC", "3182"),
    ("Brunswick", "VIC", "3056"),
)
STATE_NAMES = {"NSW": "New South Wales", "VIC": "Victoria"}
EMAIL_DOMAINS = ("gmail.com", "outlook.com", "bigpond.com", "icloud.com", "yahoo.com.au")
CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: staff read codes aloud


def person(rng: random.Random) -> tuple[str, str, str]:
    """First name, last name and a plausible personal email."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    handle = f"{first}.{last}".lower().replace("'", "")
    return first, last, f"{handle}{rng.randint(1, 999)}@{rng.choice(EMAIL_DOMAINS)}"


def mobile(rng: random.Random) -> str:
    """An Australian mobile number as staff type it."""
    return f"04{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"


def voucher_code(rng: random.Random) -> str:
    """Three letters and three digits, like the docs' FTF365."""
    letters = "".join(rng.choice(CODE_LETTERS) for _ in range(3))
    return f"{letters}{rng.randint(100, 999)}"
