"""UN/ECE Recommendation 20 (units of measure) and Recommendation 21 (package type codes).

Bundled: the units and package codes used in trade documents and DCSA payloads. Both
recommendations are longer (Rec 20 ~2,000 codes); extend the tables from the UNECE code lists.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator

from shared.codes._result import CodeCheck, compact, invalid, pydantic_validator, valid

# Rec 20 common code -> (English name, Japanese name)
UNIT_CODES: dict[str, tuple[str, str]] = {
    "KGM": ("kilogram", "キログラム"),
    "TNE": ("tonne (metric ton)", "トン"),
    "GRM": ("gram", "グラム"),
    "LBR": ("pound", "ポンド"),
    "ONZ": ("ounce", "オンス"),
    "MTQ": ("cubic metre", "立方メートル"),
    "LTR": ("litre", "リットル"),
    "MLT": ("millilitre", "ミリリットル"),
    "FTQ": ("cubic foot", "立方フィート"),
    "MTR": ("metre", "メートル"),
    "CMT": ("centimetre", "センチメートル"),
    "MMT": ("millimetre", "ミリメートル"),
    "MTK": ("square metre", "平方メートル"),
    "PCE": ("piece", "個"),
    "H87": ("piece", "個"),
    "C62": ("one (unit)", "単位"),
    "NAR": ("number of articles", "個数"),
    "SET": ("set", "セット"),
    "PR": ("pair", "組"),
    "DZN": ("dozen", "ダース"),
    "KWH": ("kilowatt hour", "キロワット時"),
    "CEL": ("degree Celsius", "摂氏度"),
    "FAH": ("degree Fahrenheit", "華氏度"),
    "BAR": ("bar", "バール"),
}

MASS_UNITS_IN_KGM: dict[str, Decimal] = {
    "KGM": Decimal(1),
    "TNE": Decimal(1000),
    "GRM": Decimal("0.001"),
    "LBR": Decimal("0.45359237"),
    "ONZ": Decimal("0.028349523125"),
}
VOLUME_UNITS_IN_MTQ: dict[str, Decimal] = {
    "MTQ": Decimal(1),
    "LTR": Decimal("0.001"),
    "MLT": Decimal("0.000001"),
    "FTQ": Decimal("0.028316846592"),
}

# Rec 21 package type code -> (English name, Japanese name). Note that in Rec 21 `PL` is a
# *pail* and a pallet is `PX`; the two are often confused on paper forms.
PACKAGE_CODES: dict[str, tuple[str, str]] = {
    "CT": ("carton", "カートン"),
    "PK": ("package", "梱包"),
    "BX": ("box", "箱"),
    "CS": ("case", "ケース"),
    "CR": ("crate", "クレート"),
    "PX": ("pallet", "パレット"),
    "PL": ("pail", "ペール缶"),
    "DR": ("drum", "ドラム"),
    "BA": ("barrel", "樽"),
    "BG": ("bag", "袋"),
    "SA": ("sack", "サック"),
    "BE": ("bundle", "束"),
    "BL": ("bale, compressed", "ベール(圧縮)"),
    "BN": ("bale, non-compressed", "ベール(非圧縮)"),
    "CA": ("can, rectangular", "缶(角型)"),
    "CX": ("can, cylindrical", "缶(円筒)"),
    "CY": ("cylinder", "ボンベ"),
    "JR": ("jar", "ジャー"),
    "BO": ("bottle, non-protected, cylindrical", "瓶"),
    "BQ": ("bottle, protected, cylindrical", "瓶(保護付)"),
    "JC": ("jerrican, rectangular", "ジェリカン(角型)"),
    "JY": ("jerrican, cylindrical", "ジェリカン(円筒)"),
    "TN": ("tin", "缶"),
    "RL": ("reel", "リール"),
    "RO": ("roll", "ロール"),
    "TB": ("tub", "タブ"),
    "TK": ("tank, rectangular", "タンク(角型)"),
    "CO": ("carboy, non-protected", "カーボイ"),
    "SK": ("skeleton case", "スケルトンケース"),
    "PC": ("parcel", "小包"),
    "PA": ("packet", "パケット"),
    "PU": ("tray", "トレイ"),
    "CH": ("chest", "チェスト"),
    "CG": ("cage", "ケージ"),
    "BK": ("basket", "バスケット"),
    "EN": ("envelope", "封筒"),
    "FR": ("frame", "フレーム"),
    "PI": ("pipe", "パイプ"),
    "PZ": ("pipes, in bundle", "パイプ(束)"),
    "LG": ("log", "丸太"),
    "LV": ("liftvan", "リフトバン"),
    "WA": ("intermediate bulk container", "IBCコンテナ"),
    "43": ("bag, super bulk", "フレコンバッグ"),
    "VL": ("bulk, liquid", "バラ積み(液体)"),
    "VY": ("bulk, solid, fine particles", "バラ積み(粉体)"),
    "NE": ("unpacked or unpackaged", "裸荷"),
    "1A": ("drum, steel", "鋼製ドラム"),
    "1H": ("drum, plastic", "プラスチック製ドラム"),
    "3A": ("jerrican, steel", "鋼製ジェリカン"),
    "3H": ("jerrican, plastic", "プラスチック製ジェリカン"),
    "4C": ("box, natural wood", "木箱"),
    "4G": ("box, fibreboard", "段ボール箱"),
    "4H": ("box, plastic", "プラスチック箱"),
    "5H": ("bag, woven plastic", "プラスチック織袋"),
    "5M": ("bag, paper", "紙袋"),
    "ZZ": ("mutually defined", "相互合意"),
}


def _check_in_table(
    value: str, table: dict[str, tuple[str, str]], code: str, en: str, ja: str, examples: str
) -> CodeCheck:
    normalized = compact(value)
    if normalized not in table:
        return invalid(
            value,
            normalized,
            code,
            f"'{value}' is not a known {en} (e.g. {examples})",
            f"'{value}' は登録された{ja}ではありません(例: {examples})",
        )
    return valid(value, normalized)


def check_unit_code(value: str) -> CodeCheck:
    return _check_in_table(
        value, UNIT_CODES, "unit_code", "UN/ECE Rec 20 unit code", "単位コード", "KGM, MTQ, PCE"
    )


def check_mass_unit(value: str) -> CodeCheck:
    table = {code: UNIT_CODES[code] for code in MASS_UNITS_IN_KGM}
    return _check_in_table(
        value, table, "mass_unit_code", "unit of mass", "重量単位コード", "KGM, TNE, LBR"
    )


def check_volume_unit(value: str) -> CodeCheck:
    table = {code: UNIT_CODES[code] for code in VOLUME_UNITS_IN_MTQ}
    return _check_in_table(
        value, table, "volume_unit_code", "unit of volume", "容積単位コード", "MTQ, LTR, FTQ"
    )


def check_package_code(value: str) -> CodeCheck:
    return _check_in_table(
        value,
        PACKAGE_CODES,
        "package_code",
        "UN/ECE Rec 21 package code",
        "包装種類コード",
        "CT, PK, BX, PX, DR",
    )


def convert_mass(amount: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """Convert between mass units of `MASS_UNITS_IN_KGM`; raises KeyError for unknown units."""
    return amount * MASS_UNITS_IN_KGM[from_unit] / MASS_UNITS_IN_KGM[to_unit]


UnitCode = Annotated[str, AfterValidator(pydantic_validator(check_unit_code))]
MassUnitCode = Annotated[str, AfterValidator(pydantic_validator(check_mass_unit))]
VolumeUnitCode = Annotated[str, AfterValidator(pydantic_validator(check_volume_unit))]
PackageCode = Annotated[str, AfterValidator(pydantic_validator(check_package_code))]
