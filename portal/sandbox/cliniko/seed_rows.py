"""Row builders for the Cliniko seed: one function per resource, fields as the docs list them."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..clinics import ClinicSpec
from ..names import STREETS, SUBURBS, mobile, person
from ..store import Row

# Standard Consultation is $95 everywhere, so vouchers of $50/$95/$150 land below/equal/above it.
SERVICES = {
    "Physiotherapy": (
        ("Initial Consultation", "PHY-IC", "120.00"),
        ("Standard Consultation", "PHY-SC", "95.00"),
        ("Extended Consultation", "PHY-EC", "140.00"),
        ("Dry Needling", "PHY-DN", "30.00"),
    ),
    "Podiatry": (
        ("Initial Podiatry Assessment", "POD-IA", "110.00"),
        ("Standard Consultation", "POD-SC", "95.00"),
        ("Orthotic Fitting", "POD-OF", "180.00"),
    ),
    "Allied Health": (
        ("Initial Consultation", "AH-IC", "120.00"),
        ("Standard Consultation", "AH-SC", "95.00"),
        ("Remedial Massage 60 min", "AH-RM60", "110.00"),
    ),
}
# Retail products carry GST; prices are ex tax, as Cliniko stores them.
PRODUCTS = (
    ("Theraband - Medium", "TB-M", "22.68"),
    ("Foam Roller", "FR-45", "36.32"),
    ("Heat Pack", "HP-01", "18.14"),
)
DESIGNATIONS = {
    "Physiotherapy": "Physiotherapist",
    "Podiatry": "Podiatrist",
    "Allied Health": "Exercise Physiologist",
}


def _stamps(when: datetime) -> dict[str, Any]:
    return {"created_at": when, "updated_at": when}


def tax_row(name: str, rate: str, when: datetime) -> Row:
    return {
        "id": None,
        "name": name,
        "rate": Decimal(rate),
        "amount": Decimal(rate),
        **_stamps(when),
    }


def user_row(rng: random.Random, clinic: ClinicSpec, when: datetime) -> Row:
    first, last, _ = person(rng)
    return {
        "id": None,
        "title": None,
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}@{clinic.subdomain}.com.au",
        "role": "administrator",
        "active": True,
        "user_active": True,
        "time_zone": "Sydney",
        "time_zone_identifier": clinic.time_zone,
        "phone_numbers": [],
        **_stamps(when),
    }


def business_row(rng: random.Random, clinic: ClinicSpec, when: datetime) -> Row:
    return {
        "id": None,
        "business_name": clinic.name,
        "display_name": clinic.name,
        "label": clinic.name,
        "address_1": f"{rng.randint(1, 200)} {rng.choice(STREETS)}",
        "address_2": "",
        "city": clinic.suburb,
        "state": clinic.state,
        "post_code": clinic.post_code,
        "country": "Australia",
        "country_code": "AU",
        "contact_information": f"Phone: 02 9{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        "email_reply_to": f"reception@{clinic.subdomain}.com.au",
        "website_address": f"https://{clinic.subdomain}.com.au",
        "business_registration_name": "ABN",
        "business_registration_value": f"{rng.randint(10, 99)} {rng.randint(100, 999)} "
        f"{rng.randint(100, 999)} {rng.randint(100, 999)}",
        "additional_invoice_information": "",
        "time_zone": "Sydney",
        "time_zone_identifier": clinic.time_zone,
        "archived_at": None,
        "deleted_at": None,
        **_stamps(when),
    }


def practitioner_row(rng: random.Random, clinic: ClinicSpec, when: datetime, user: Any) -> Row:
    first, last, _ = person(rng)
    return {
        "id": None,
        "title": "",
        "first_name": first,
        "last_name": last,
        "display_name": f"{first} {last}",
        "label": f"{first} {last}",
        "designation": DESIGNATIONS[clinic.profession],
        "description": "",
        "active": True,
        "show_in_online_bookings": True,
        "user_id": user,
        **_stamps(when),
    }


def product_row(name: str, code: str, price: str, tax: Any, when: datetime) -> Row:
    ex_tax = Decimal(price)
    return {
        "id": None,
        "name": name,
        "item_code": code,
        "serial_number": None,
        "notes": "",
        "cost_price": (ex_tax / 2).quantize(Decimal("0.01")),
        "price_ex_tax": ex_tax,
        "price_including_tax": (ex_tax * Decimal("1.1")).quantize(Decimal("0.01")),
        "stock_level": 20,
        "product_supplier_name": "Allied Supplies Pty Ltd",
        "tax_id": tax,
        "archived_at": None,
        **_stamps(when),
    }


def patient_row(rng: random.Random, who: tuple[str, str, str], when: datetime) -> Row:
    first, last, email = who
    suburb, state, post_code = rng.choice(SUBURBS)
    born = date(rng.randint(1940, 2015), rng.randint(1, 12), rng.randint(1, 28))
    return {
        "id": None,
        "title": None,
        "first_name": first,
        "last_name": last,
        "preferred_first_name": None,
        "label": f"{first} {last}",
        "email": email,
        "date_of_birth": born,
        "sex": None,
        "gender_identity": None,
        "pronouns": None,
        "address_1": f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
        "address_2": "",
        "address_3": "",
        "city": suburb,
        "state": state,
        "post_code": post_code,
        "country": "Australia",
        "country_code": "AU",
        "notes": "",
        "occupation": None,
        "medicare": None,
        "medicare_reference_number": None,
        "dva_card_number": None,
        "old_reference_id": None,
        "referral_source": None,
        "reminder_type": "SMS & Email",
        "receives_confirmation_emails": True,
        "accepted_privacy_policy": True,
        "accepted_email_marketing": False,
        "accepted_sms_marketing": False,
        "emergency_contact": None,
        "invoice_default_to": None,
        "invoice_email": None,
        "invoice_extra_information": None,
        "time_zone": None,
        "custom_fields": None,
        "patient_phone_numbers": [{"phone_type": "Mobile", "number": mobile(rng)}],
        "archived_at": None,
        "deleted_at": None,
        **_stamps(when),
    }
