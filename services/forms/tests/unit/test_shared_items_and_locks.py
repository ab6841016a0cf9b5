from typing import Any

from forms.domain.locks import FormState, active_locks, locked_paths_for, refused_edits
from forms.domain.projection import (
    apply_shared,
    merge_into_shared,
    project_to_shared,
    shared_item_path,
)


def _si() -> dict[str, Any]:
    return {
        "documentNo": "SI-1",
        "shipper": {"name": "Minato Trading Co., Ltd.", "phone": ""},
        "consignee": {"name": "ACME GmbH"},
        "bookingNo": "BKG123",
        "portOfLoading": {"code": "JPTYO"},
        "commodity": [{"description": "Shoes", "grossWeight": 1200, "grossWeightUnitCode": "KGM"}],
        "containers": [{"containerNo": "CSQU3054383", "sealNumbers": ["S1"]}],
        "marksAndNumbers": "ACME HAMBURG",
    }


def _invoice() -> dict[str, Any]:
    return {
        "invoiceNo": "INV-9",
        "shipper": {"name": "Minato Trading Co., Ltd."},
        "commodity": [{"description": "Shoes", "unitPrice": 12, "quantity": 100}],
    }


class TestProjection:
    def test_form_fields_map_to_the_same_shared_paths(self) -> None:
        shared = project_to_shared("UL040", _si())
        assert shared["shipper.name"] == "Minato Trading Co., Ltd."
        assert shared["containers[0].sealNumbers"] == ["S1"]
        assert shared["portOfLoading.code"] == "JPTYO"
        assert "documentNo" not in shared  # form-own field, not a shared item

    def test_which_form_field_is_which_shared_item(self) -> None:
        assert shared_item_path("UL040", "shipper.name") == "shipper.name"
        assert shared_item_path("UL040", "containers[1].sealNumbers") == "containers[1].sealNumbers"
        assert shared_item_path("UL100", "commodity[0].description") == "commodity[0].description"
        assert shared_item_path("UL100", "commodity[0].unitPrice") is None
        assert shared_item_path("UL100", "containers[0].containerNo") is None
        assert shared_item_path("UL040", "invoiceNo") is None

    def test_invoice_prices_stay_on_the_invoice(self) -> None:
        shared = project_to_shared("UL100", _invoice())
        assert shared == {
            "shipper.name": "Minato Trading Co., Ltd.",
            "commodity[0].description": "Shoes",
        }

    def test_saving_a_form_updates_the_root_and_other_forms_follow(self) -> None:
        root = merge_into_shared({}, "UL040", _si())
        edited = _si()
        edited["consignee"] = {"name": "ACME Hamburg GmbH"}
        root = merge_into_shared(root, "UL040", edited)
        invoice = apply_shared("UL100", _invoice(), root)
        assert invoice["consignee"] == {"name": "ACME Hamburg GmbH"}
        # the invoice keeps its own prices while taking the shared description
        assert invoice["commodity"][0] == {
            "description": "Shoes",
            "unitPrice": 12,
            "quantity": 100,
            "grossWeight": 1200,
            "grossWeightUnitCode": "KGM",
        }
        assert "containers" not in invoice  # UL100 does not carry the containers group

    def test_root_list_shrinks_and_form_follows(self) -> None:
        values = {"containers": [{"containerNo": "CSQU3054383"}, {"containerNo": "NARU3472484"}]}
        refreshed = apply_shared("UL120", values, {"containers": [{"containerNo": "NARU3472484"}]})
        assert refreshed["containers"] == [{"containerNo": "NARU3472484"}]


class TestLocks:
    def test_sent_si_locks_its_non_empty_shared_values_in_other_forms(self) -> None:
        si = FormState("f-si", "UL040", _si(), is_sent=True)
        locks = active_locks([si])
        assert "shipper.name" in locks
        assert "shipper.phone" not in locks  # empty values are not locked
        assert "bookingNo" not in locks  # the S/I does not lock the carrier's booking number

        packing_list = FormState("f-pl", "UL120", {"shipper": {"name": "Minato Trading Co., Ltd."}})
        refused = refused_edits(
            packing_list, {"shipper": {"name": "Other", "phone": "03-1234-5678"}}, locks
        )
        assert [field.path for field in refused] == ["shipper.name"]
        assert refused[0].locked_by == ("UL040",)
        assert "UL040" in refused[0].message_en
        assert "荷送人(シッパー) › 名称" in refused[0].message_ja

    def test_trigger_form_stays_editable(self) -> None:
        si = FormState("f-si", "UL040", _si(), is_sent=True)
        edited = _si()
        edited["shipper"] = {"name": "Renamed"}
        assert refused_edits(si, edited, active_locks([si])) == []

    def test_unsent_trigger_releases_its_locks(self) -> None:
        draft_si = FormState("f-si", "UL040", _si(), is_sent=False)
        assert active_locks([draft_si]) == {}
        packing_list = FormState("f-pl", "UL120", {"shipper": {"name": "x"}})
        assert (
            refused_edits(packing_list, {"shipper": {"name": "y"}}, active_locks([draft_si])) == []
        )

    def test_non_trigger_forms_lock_nothing_even_when_sent(self) -> None:
        assert active_locks([FormState("f-inv", "UL100", _invoice(), is_sent=True)]) == {}

    def test_each_trigger_locks_its_own_item_set(self) -> None:
        booking = FormState(
            "f-bc",
            "UL050",
            {"bookingNo": "BKG123", "vessel": {"name": "ONE HARMONY"}, "shipper": {"name": "X"}},
            is_sent=True,
        )
        locks = active_locks([booking])
        assert set(locks) == {"bookingNo", "vessel.name"}

    def test_removing_a_locked_container_is_refused_but_adding_one_is_not(self) -> None:
        si = FormState("f-si", "UL040", _si(), is_sent=True)
        locks = active_locks([si])
        receiving_slip = FormState("f-ul090", "UL090", {"containers": _si()["containers"]})
        added = {"containers": [*_si()["containers"], {"containerNo": "NARU3472484"}]}
        assert refused_edits(receiving_slip, added, locks) == []
        removed: dict[str, Any] = {"containers": []}
        assert {f.path for f in refused_edits(receiving_slip, removed, locks)} == {
            "containers[0].containerNo",
            "containers[0].sealNumbers",
        }

    def test_locked_paths_for_lists_fields_to_grey_out(self) -> None:
        si = FormState("f-si", "UL040", _si(), is_sent=True)
        invoice = FormState("f-inv", "UL100", _invoice())
        locked = locked_paths_for(invoice, active_locks([si]))
        assert locked["shipper.name"] == ("UL040",)
        assert "containers[0].containerNo" not in locked  # UL100 does not carry containers
        assert locked_paths_for(si, active_locks([si])) == {}
