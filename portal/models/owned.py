"""The mixin every clinic-owned row shares, so tenancy can type and filter them in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column


class ClinicOwned:
    """A row that belongs to one clinic. Load it through `portal.tenancy.owned()` or
    `owned_or_404()`, which always filter by the clinic; an index on `clinic_id`, where a model
    wants one, is declared in its `__table_args__`."""

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))

    if TYPE_CHECKING:  # every clinic-owned model declares an integer primary key named id
        id: Mapped[int]
