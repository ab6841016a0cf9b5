from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from forms.domain.paths import expand, flatten, generalize, get_path, is_empty, set_path, split_path

_names = st.sampled_from(["shipper", "name", "containers", "sealNumbers", "commodity", "code"])
_scalars = st.one_of(st.text(min_size=1, max_size=5), st.integers(), st.booleans())
_documents = st.recursive(
    _scalars | st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=2),
    lambda inner: (
        st.dictionaries(_names, inner, min_size=1, max_size=3)
        | st.lists(st.dictionaries(_names, inner, min_size=1, max_size=3), min_size=1, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(_names, _documents, min_size=1, max_size=3))
def test_flatten_then_set_path_rebuilds_the_document(document: dict[str, Any]) -> None:
    rebuilt: dict[str, Any] = {}
    for path, value in flatten(document).items():
        set_path(rebuilt, path, value)
        assert get_path(document, path) == value
    assert rebuilt == document


def test_split_and_generalize() -> None:
    assert split_path("containers[2].sealNumbers") == ["containers", 2, "sealNumbers"]
    assert (
        generalize("entries[1].commodity[0].description") == "entries[*].commodity[*].description"
    )


def test_expand_reports_missing_lists_and_items() -> None:
    document = {"commodity": [{"description": "Shoes"}, {"hsCode": "640510"}]}
    assert list(expand(document, "commodity[*].description")) == [
        ("commodity[0].description", "Shoes"),
        ("commodity[1].description", None),
    ]
    assert list(expand({}, "containers[*].containerNo")) == [("containers", None)]


def test_empty_means_nothing_a_person_typed() -> None:
    assert is_empty(None)
    assert is_empty("  ")
    assert is_empty({"name": "", "addressLines": []})
    assert not is_empty(0)
    assert not is_empty(False)
    assert not is_empty({"name": "x"})


@given(st.dictionaries(_names, _documents, min_size=1, max_size=3))
def test_expand_with_the_parsed_pattern_cache_matches_a_fresh_parse(
    document: dict[str, Any],
) -> None:
    """``expand`` parses each pattern once (``_pattern_parts``); the answer stays what a fresh
    ``split_path`` gives, for the same pattern over different documents."""
    from forms.domain.paths import _expand, _pattern_parts

    for pattern in ("containers[*].sealNumbers", "commodity[*].name", "shipper.name", "code"):
        assert _pattern_parts(pattern) == tuple(split_path(pattern))
        assert list(expand(document, pattern)) == list(_expand(document, split_path(pattern), []))
