"""Commercial documents: invoice UL100, proforma UL110, packing list UL120, certificate of
origin, insurance certificate, freight invoice."""

from __future__ import annotations

from forms.domain.base import Amount, Incoterms
from forms.domain.common import Charge, InvoiceLine, Location, PackingLine, Party
from forms.domain.schemas._document import FormDocument
from forms.domain.shared_items import (
    BillOfLadingItems,
    ContainerItems,
    PartiesItems,
    TotalsItems,
    VoyageItems,
)
from shared.codes import CountryCode, CurrencyCode, TradeDate


class _InvoiceBody(FormDocument, PartiesItems, BillOfLadingItems, VoyageItems, TotalsItems):
    invoice_no: str | None = None
    invoice_date: TradeDate | None = None
    buyer: Party | None = None
    seller: Party | None = None
    incoterms: Incoterms | None = None
    incoterms_place: str | None = None
    payment_terms: str | None = None
    currency_code: CurrencyCode | None = None
    total_amount: Amount | None = None
    freight_amount: Amount | None = None
    insurance_amount: Amount | None = None
    country_of_origin_code: CountryCode | None = None
    letter_of_credit_no: str | None = None
    # Lines carry prices, so they are `InvoiceLine`s; their goods part maps to shared `commodity`.
    commodity: list[InvoiceLine] | None = None
    marks_and_numbers: str | None = None


class CommercialInvoice(_InvoiceBody):
    """UL100 商業送り状."""


class ProformaInvoice(_InvoiceBody):
    """UL110 仮送り状: the quotation form of the invoice, before shipment."""

    valid_until: TradeDate | None = None


class PackingList(
    FormDocument, PartiesItems, BillOfLadingItems, VoyageItems, TotalsItems, ContainerItems
):
    """UL120 パッキングリスト."""

    packing_list_no: str | None = None
    invoice_no: str | None = None
    commodity: list[PackingLine] | None = None
    marks_and_numbers: str | None = None


class CertificateOfOrigin(FormDocument, PartiesItems, VoyageItems):
    """原産地証明書 (non-preferential by a chamber of commerce, or EPA preferential)."""

    certificate_no: str | None = None
    certificate_type: str | None = None  # e.g. "non-preferential", "RCEP", "CPTPP", "JP-EU EPA"
    issuing_authority: Party | None = None
    country_of_origin_code: CountryCode | None = None
    invoice_no: str | None = None
    commodity: list[InvoiceLine] | None = None
    marks_and_numbers: str | None = None


class InsuranceCertificate(FormDocument, PartiesItems, BillOfLadingItems, VoyageItems):
    """保険証明書 (cargo insurance, e.g. ICC (A)); needed for CIF/CIP sales."""

    policy_no: str | None = None
    certificate_no: str | None = None
    insurer: Party | None = None
    insured_amount: Amount | None = None
    insured_amount_currency_code: CurrencyCode | None = None
    conditions: str | None = None
    claims_payable_at: Location | None = None
    invoice_no: str | None = None
    marks_and_numbers: str | None = None


class FreightInvoice(FormDocument, PartiesItems, BillOfLadingItems, VoyageItems, ContainerItems):
    """運賃請求書: carrier/NVOCC/forwarder bills ocean freight and local charges."""

    invoice_no: str | None = None
    invoice_date: TradeDate | None = None
    bill_to: Party | None = None
    charges: list[Charge] | None = None
    total_amount: Amount | None = None
    currency_code: CurrencyCode | None = None
    payment_due_date: TradeDate | None = None
