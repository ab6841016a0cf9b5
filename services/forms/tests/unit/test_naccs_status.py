"""Which forms show which customs status, and which entry wins (``forms.domain.naccs_status``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forms.domain.catalogue import FORM_TYPES_BY_CODE
from forms.domain.naccs_status import PROCEDURES, SHOWN_ON, procedures_shown_on, supersedes

T = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def test_export_forms_show_export_procedures_and_import_forms_import_ones() -> None:
    assert "export_declaration" in procedures_shown_on("UL040")  # S/I
    assert "import_declaration" not in procedures_shown_on("UL040")
    assert "import_declaration" in procedures_shown_on("UL290")  # A/N
    assert "import_declaration" in procedures_shown_on("MX200")  # D/O
    assert {"export_declaration", "import_declaration"} <= procedures_shown_on("UL100")  # invoice
    assert procedures_shown_on("UL050") == frozenset()  # booking confirmation: no section
    assert set(SHOWN_ON) <= set(FORM_TYPES_BY_CODE)
    assert all(shown <= set(PROCEDURES) for shown in SHOWN_ON.values())


def test_a_later_state_wins_whatever_the_order_of_arrival() -> None:
    assert supersedes("permitted", T, "declared", T + timedelta(hours=1))
    assert not supersedes("declared", T + timedelta(hours=1), "permitted", T)
    assert not supersedes("permitted", T, "permitted", T)  # a redelivery changes nothing
    # Container movements share one rank: the later one wins.
    assert supersedes("gate_out", T + timedelta(minutes=5), "gate_in", T)
    assert not supersedes("gate_in", T - timedelta(minutes=5), "gate_out", T)
    assert supersedes("registered", T, None, None)
