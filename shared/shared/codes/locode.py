"""UN/LOCODE: five-character location codes (two-letter ISO country + three-character location).

The bundled table covers Japan's main ports and the world's major container ports. It is a
subset on purpose: the UN/LOCODE list has ~116,000 entries and is republished twice a year.
To use the full list, load the UNECE CSV release (columns Country, Location, Name, Function)
into `LocodeRegistry.from_rows(...)`: the checks below take any registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

from shared.codes._result import CodeCheck, compact, invalid, pydantic_validator, valid
from shared.codes.countries import COUNTRIES

# UN/LOCODE uses the digits 2-9 (never 0/1, to avoid confusion with O/I) beside letters.
_LOCATION_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ23456789")

# Code used when a place has no UN/LOCODE: country + "ZZZ", with the name given as free text
# (NACCS ACL rule; also UN/LOCODE's own convention).
UNLISTED_LOCATION = "ZZZ"


@dataclass(frozen=True, slots=True)
class Locode:
    code: str
    name: str
    name_ja: str | None = None

    @property
    def country(self) -> str:
        return self.code[:2]


_BUNDLED: tuple[Locode, ...] = (
    # Japan: ports handling international containers
    Locode("JPTYO", "Tokyo", "東京"),
    Locode("JPYOK", "Yokohama", "横浜"),
    Locode("JPKWS", "Kawasaki", "川崎"),
    Locode("JPCHB", "Chiba", "千葉"),
    Locode("JPSMZ", "Shimizu", "清水"),
    Locode("JPNGO", "Nagoya", "名古屋"),
    Locode("JPYKK", "Yokkaichi", "四日市"),
    Locode("JPOSA", "Osaka", "大阪"),
    Locode("JPUKB", "Kobe", "神戸"),
    Locode("JPHIM", "Himeji", "姫路"),
    Locode("JPMIZ", "Mizushima", "水島"),
    Locode("JPHIJ", "Hiroshima", "広島"),
    Locode("JPTAK", "Takamatsu", "高松"),
    Locode("JPMYJ", "Matsuyama", "松山"),
    Locode("JPMOJ", "Moji", "門司"),
    Locode("JPKKJ", "Kitakyushu", "北九州"),
    Locode("JPHKT", "Hakata", "博多"),
    Locode("JPIMI", "Imari", "伊万里"),
    Locode("JPNGS", "Nagasaki", "長崎"),
    Locode("JPOIT", "Oita", "大分"),
    Locode("JPKOJ", "Kagoshima", "鹿児島"),
    Locode("JPNAH", "Naha", "那覇"),
    Locode("JPKIJ", "Niigata", "新潟"),
    Locode("JPKNZ", "Kanazawa", "金沢"),
    Locode("JPAXT", "Akita", "秋田"),
    Locode("JPONA", "Onahama", "小名浜"),
    Locode("JPHHE", "Hachinohe", "八戸"),
    Locode("JPTMK", "Tomakomai", "苫小牧"),
    Locode("JPMUR", "Muroran", "室蘭"),
    Locode("JPKUH", "Kushiro", "釧路"),
    Locode("JPHKD", "Hakodate", "函館"),
    # East and South-East Asia
    Locode("CNSHA", "Shanghai"),
    Locode("CNNGB", "Ningbo"),
    Locode("CNSZX", "Shenzhen"),
    Locode("CNYTN", "Yantian"),
    Locode("CNSHK", "Shekou"),
    Locode("CNTAO", "Qingdao"),
    Locode("CNTXG", "Tianjin Xingang"),
    Locode("CNXMN", "Xiamen"),
    Locode("CNDLC", "Dalian"),
    Locode("CNCAN", "Guangzhou"),
    Locode("CNNSA", "Nansha"),
    Locode("HKHKG", "Hong Kong"),
    Locode("KRPUS", "Busan"),
    Locode("KRINC", "Incheon"),
    Locode("KRKAN", "Gwangyang"),
    Locode("TWKHH", "Kaohsiung"),
    Locode("TWKEL", "Keelung"),
    Locode("TWTXG", "Taichung"),
    Locode("SGSIN", "Singapore"),
    Locode("MYPKG", "Port Klang"),
    Locode("MYTPP", "Tanjung Pelepas"),
    Locode("THLCH", "Laem Chabang"),
    Locode("THBKK", "Bangkok"),
    Locode("VNSGN", "Ho Chi Minh City"),
    Locode("VNCMT", "Cai Mep"),
    Locode("VNHPH", "Haiphong"),
    Locode("IDTPP", "Tanjung Priok"),
    Locode("IDJKT", "Jakarta"),
    Locode("PHMNL", "Manila"),
    # South Asia and Middle East
    Locode("INNSA", "Nhava Sheva"),
    Locode("INMUN", "Mundra"),
    Locode("LKCMB", "Colombo"),
    Locode("AEJEA", "Jebel Ali"),
    Locode("AEDXB", "Dubai"),
    Locode("SAJED", "Jeddah"),
    Locode("OMSLL", "Salalah"),
    Locode("EGPSD", "Port Said"),
    # Europe and Africa
    Locode("NLRTM", "Rotterdam"),
    Locode("BEANR", "Antwerp"),
    Locode("DEHAM", "Hamburg"),
    Locode("DEBRV", "Bremerhaven"),
    Locode("GBFXT", "Felixstowe"),
    Locode("GBSOU", "Southampton"),
    Locode("GBLGP", "London Gateway"),
    Locode("FRLEH", "Le Havre"),
    Locode("ESVLC", "Valencia"),
    Locode("ESALG", "Algeciras"),
    Locode("ESBCN", "Barcelona"),
    Locode("ITGOA", "Genoa"),
    Locode("GRPIR", "Piraeus"),
    Locode("DKAAR", "Aarhus"),
    Locode("DKCPH", "Copenhagen"),
    Locode("SEGOT", "Gothenburg"),
    Locode("PLGDN", "Gdansk"),
    Locode("MAPTM", "Tanger Med"),
    Locode("ZADUR", "Durban"),
    # Americas and Oceania
    Locode("USLAX", "Los Angeles"),
    Locode("USLGB", "Long Beach"),
    Locode("USOAK", "Oakland"),
    Locode("USSEA", "Seattle"),
    Locode("USTIW", "Tacoma"),
    Locode("USNYC", "New York"),
    Locode("USSAV", "Savannah"),
    Locode("USORF", "Norfolk"),
    Locode("USCHS", "Charleston"),
    Locode("USHOU", "Houston"),
    Locode("CAVAN", "Vancouver"),
    Locode("CAPRR", "Prince Rupert"),
    Locode("MXZLO", "Manzanillo"),
    Locode("BRSSZ", "Santos"),
    Locode("AUSYD", "Sydney"),
    Locode("AUMEL", "Melbourne"),
    Locode("AUBNE", "Brisbane"),
    Locode("NZAKL", "Auckland"),
)


class LocodeRegistry:
    """A set of known UN/LOCODEs. Swap in the full UNECE list by building one from its rows."""

    def __init__(self, entries: Iterable[Locode]) -> None:
        self._by_code: Mapping[str, Locode] = {entry.code: entry for entry in entries}

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str]]) -> LocodeRegistry:
        """Rows as in the UNECE CSV: (country, location, name), e.g. ("JP", "TYO", "Tokyo")."""
        return cls(Locode(f"{country}{location}", name) for country, location, name in rows)

    def get(self, code: str) -> Locode | None:
        return self._by_code.get(compact(code))

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and compact(code) in self._by_code

    def __len__(self) -> int:
        return len(self._by_code)


BUNDLED_LOCODES = LocodeRegistry(_BUNDLED)


def check_locode_format(value: str) -> CodeCheck:
    """Check the shape only: known country + three location characters from the UN alphabet."""
    normalized = compact(value)
    if (
        len(normalized) != 5
        or normalized[:2] not in COUNTRIES
        or not set(normalized[2:]) <= _LOCATION_ALPHABET
    ):
        return invalid(
            value,
            normalized,
            "locode_format",
            f"'{value}' is not a UN/LOCODE (ISO country + 3 letters/digits 2-9, e.g. JPTYO)",
            f"'{value}' はUN/LOCODE(国コード+英数字3桁、例: JPTYO)の形式ではありません",
        )
    return valid(value, normalized)


def check_locode(value: str, registry: LocodeRegistry = BUNDLED_LOCODES) -> CodeCheck:
    """Check shape, then membership; `XXZZZ` (unlisted place in country XX) is accepted."""
    shape = check_locode_format(value)
    if not shape.is_valid or shape.normalized.endswith(UNLISTED_LOCATION):
        return shape
    if shape.normalized not in registry:
        return invalid(
            value,
            shape.normalized,
            "locode_unknown",
            f"'{shape.normalized}' is not a known UN/LOCODE; use {shape.normalized[:2]}ZZZ "
            "with the place name for unlisted places",
            f"'{shape.normalized}' は登録されたUN/LOCODEではありません。未登録地は "
            f"{shape.normalized[:2]}ZZZ と地名を入力してください",
        )
    return shape


def check_known_locode(value: str) -> CodeCheck:
    return check_locode(value)


# Format-only type for payloads from partners whose codes we cannot all know in advance.
LocodeFormat = Annotated[str, AfterValidator(pydantic_validator(check_locode_format))]
# Membership-checked type for our own forms.
UnLocode = Annotated[str, AfterValidator(pydantic_validator(check_known_locode))]
