"""Validators for the code lists of port logistics, shared by trades, forms and the gateway.

Each code has a pure `check_*` function returning a `CodeCheck` (normalised value or a ja/en
error) and an `Annotated` type for Pydantic schemas, so that errors name the field.
"""

from shared.codes._result import CodeCheck, CodeError
from shared.codes.carriers import KNOWN_OCEAN_CARRIERS, ScacCode, check_scac
from shared.codes.commodities import (
    HsCode,
    HsOrNationalCode,
    JpStatisticalCode,
    check_hs_code,
    check_hs_or_national_code,
    check_jp_statistical_code,
)
from shared.codes.containers import (
    COMMON_SIZE_TYPES,
    ContainerNumber,
    ContainerSizeType,
    SizeType,
    check_container_number,
    check_size_type,
    iso6346_check_digit,
    parse_size_type,
)
from shared.codes.corporate_number import (
    CorporateNumber,
    NaccsTraderCode,
    check_corporate_number,
    check_naccs_trader_code,
    corporate_number_check_digit,
)
from shared.codes.countries import COUNTRIES, CountryCode, check_country_code
from shared.codes.currencies import CURRENCIES, CurrencyCode, check_currency, minor_units
from shared.codes.dangerous_goods import (
    IMDG_CLASSES,
    ImdgClass,
    PackingGroup,
    UnNumber,
    check_imdg_class,
    check_packing_group,
    check_un_number,
)
from shared.codes.dates import TradeDate, check_date, parse_date, to_naccs_date
from shared.codes.locode import (
    BUNDLED_LOCODES,
    Locode,
    LocodeFormat,
    LocodeRegistry,
    UnLocode,
    check_locode,
    check_locode_format,
)
from shared.codes.units import (
    MASS_UNITS_IN_KGM,
    PACKAGE_CODES,
    UNIT_CODES,
    VOLUME_UNITS_IN_MTQ,
    MassUnitCode,
    PackageCode,
    UnitCode,
    VolumeUnitCode,
    check_mass_unit,
    check_package_code,
    check_unit_code,
    check_volume_unit,
    convert_mass,
)
from shared.codes.vessels import ImoNumber, check_imo_number, imo_check_digit

__all__ = [
    "BUNDLED_LOCODES",
    "COMMON_SIZE_TYPES",
    "COUNTRIES",
    "CURRENCIES",
    "IMDG_CLASSES",
    "KNOWN_OCEAN_CARRIERS",
    "MASS_UNITS_IN_KGM",
    "PACKAGE_CODES",
    "UNIT_CODES",
    "VOLUME_UNITS_IN_MTQ",
    "CodeCheck",
    "CodeError",
    "ContainerNumber",
    "ContainerSizeType",
    "CorporateNumber",
    "CountryCode",
    "CurrencyCode",
    "HsCode",
    "HsOrNationalCode",
    "ImdgClass",
    "ImoNumber",
    "JpStatisticalCode",
    "Locode",
    "LocodeFormat",
    "LocodeRegistry",
    "MassUnitCode",
    "NaccsTraderCode",
    "PackageCode",
    "PackingGroup",
    "ScacCode",
    "SizeType",
    "TradeDate",
    "UnLocode",
    "UnNumber",
    "UnitCode",
    "VolumeUnitCode",
    "check_container_number",
    "check_corporate_number",
    "check_country_code",
    "check_currency",
    "check_date",
    "check_hs_code",
    "check_hs_or_national_code",
    "check_imdg_class",
    "check_imo_number",
    "check_jp_statistical_code",
    "check_locode",
    "check_locode_format",
    "check_mass_unit",
    "check_naccs_trader_code",
    "check_package_code",
    "check_packing_group",
    "check_scac",
    "check_size_type",
    "check_un_number",
    "check_unit_code",
    "check_volume_unit",
    "convert_mass",
    "corporate_number_check_digit",
    "imo_check_digit",
    "iso6346_check_digit",
    "minor_units",
    "parse_date",
    "parse_size_type",
    "to_naccs_date",
]
