"""Reconciliation: Cliniko's invoice-items export against VaocherApp.

batches (an uploaded export and its mapping), export_reader (CSV/TSV decoding), values (money and
code parsing), rows (the export's rows as records), plan (what each row would do), apply (the
approved plan's steps and Cliniko's billable items), redeem (the crash-safe redeem protocol:
intent → call → completion). May import models, clients and the connections and vouchers
services; never jobs or web.
"""
