"""Forms of the reconciliation pages: the upload and the column mapping."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from portal.services.reconciliation.export_reader import FIELDS


class UploadForm(FlaskForm):
    export = FileField(
        "Cliniko invoice-items export (CSV)",
        validators=[FileRequired("Choose the CSV file Cliniko's data export gave you.")],
    )


class MappingForm(FlaskForm):
    """One select per field; choices are the file's own column names, filled in by the view."""


for _field, (_label, _aliases) in FIELDS.items():
    setattr(MappingForm, _field, SelectField(_label, choices=[], validate_choice=False))


def mapping_form(headers: list[str], current: dict[str, int], data: object = None) -> MappingForm:
    """The mapping form for one file, pre-selected with what was recognised."""
    form = MappingForm(formdata=data) if data is not None else MappingForm()
    choices = [("", "— not in this file —")] + [
        (str(i), h or f"Column {i + 1}") for i, h in enumerate(headers)
    ]
    for field in FIELDS:
        select = getattr(form, field)
        select.choices = choices
        if data is None and field in current:
            select.data = str(current[field])
    return form


def chosen_columns(form: MappingForm) -> dict[str, int | None]:
    return {f: int(v) if (v := getattr(form, f).data) else None for f in FIELDS}
