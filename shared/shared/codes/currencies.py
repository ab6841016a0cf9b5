"""ISO 4217 currency codes (active codes) with their minor units."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from shared.codes._result import CodeCheck, compact, invalid, pydantic_validator, valid

_ACTIVE_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES
KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XCD XCG XOF XPD XPF XPT XSU XUA
YER ZAR ZMW ZWG
"""
CURRENCIES: frozenset[str] = frozenset(_ACTIVE_CODES.split())

# Currencies whose minor unit is not 2 decimals; the amounts rules (NACCS floors JPY to integers)
# depend on it.
_ZERO_DECIMALS = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
     "VUV", "XAF", "XOF", "XPF"}
)  # fmt: skip
_THREE_DECIMALS = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def minor_units(currency: str) -> int:
    if currency in _ZERO_DECIMALS:
        return 0
    if currency in _THREE_DECIMALS:
        return 3
    return 2


def check_currency(value: str) -> CodeCheck:
    normalized = compact(value)
    if normalized not in CURRENCIES:
        return invalid(
            value,
            normalized,
            "currency_code",
            f"'{value}' is not an ISO 4217 currency code (e.g. JPY, USD, EUR)",
            f"'{value}' はISO 4217の通貨コード(例: JPY, USD, EUR)ではありません",
        )
    return valid(value, normalized)


CurrencyCode = Annotated[str, AfterValidator(pydantic_validator(check_currency))]
