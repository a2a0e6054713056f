"""Vouchers: the clinic's VaocherApp vouchers as the portal knows them.

records (upserting and reading vouchers), browser (search, filters, figures), provisioning (a
voucher's Cliniko patient and billable item), webhook_intake (signed VaocherApp deliveries). May
import models, clients and the connections services; never jobs or web.
"""
