"""PageRequest: Relay arguments validated before any storage is touched."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.queries.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest
from domain.shared import InvalidInput, LimitExceeded


def test_defaults_page_forwards_by_twenty() -> None:
    page = PageRequest()
    assert DEFAULT_PAGE_SIZE == 20 and MAX_PAGE_SIZE == 100
    assert page.backward is False and page.size == 20


@pytest.mark.parametrize(("kwargs", "backward", "size"), [
    ({"first": 0}, False, 0),
    ({"first": 5}, False, 5),
    ({"first": 100}, False, 100),
    ({"first": 5, "after": "c"}, False, 5),
    ({"after": "c"}, False, 20),
    ({"last": 0}, True, 0),
    ({"last": 7}, True, 7),
    ({"last": 100}, True, 100),
    ({"last": 7, "before": "c"}, True, 7),
    ({"before": "c"}, True, 20),
])
def test_valid_requests(kwargs: dict[str, object], backward: bool, size: int) -> None:
    page = PageRequest(**kwargs)  # type: ignore[arg-type]
    assert (page.backward, page.size) == (backward, size)


def test_first_and_last_together_are_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        PageRequest(first=1, last=1)
    assert err.value.field == ("last",) and err.value.code == "INVALID"


@pytest.mark.parametrize("name", ["first", "last"])
@pytest.mark.parametrize("value", [-1, -100])
def test_negative_sizes_are_refused(name: str, value: int) -> None:
    with pytest.raises(InvalidInput) as err:
        PageRequest(**{name: value})  # type: ignore[arg-type]
    assert err.value.field == (name,)
    assert not isinstance(err.value, LimitExceeded)


@pytest.mark.parametrize("name", ["first", "last"])
@pytest.mark.parametrize("value", [101, 10_000])
def test_sizes_over_the_cap_exceed_the_limit(name: str, value: int) -> None:
    with pytest.raises(LimitExceeded) as err:
        PageRequest(**{name: value})  # type: ignore[arg-type]
    assert err.value.field == (name,) and err.value.code == "LIMIT_EXCEEDED"


def test_last_with_after_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        PageRequest(last=3, after="c")
    assert err.value.field == ("after",)


def test_first_with_before_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        PageRequest(first=3, before="c")
    assert err.value.field == ("before",)


@given(first=st.none() | st.integers(-5, 200), last=st.none() | st.integers(-5, 200),
       after=st.none() | st.just("a"), before=st.none() | st.just("b"))
def test_any_accepted_request_has_a_size_within_the_cap(first: int | None, last: int | None, after: str | None,
                                                        before: str | None) -> None:
    try:
        page = PageRequest(first=first, last=last, after=after, before=before)
    except (InvalidInput, LimitExceeded):
        refused = (
            (first is not None and last is not None)
            or any(v is not None and not 0 <= v <= MAX_PAGE_SIZE for v in (first, last))
            or (last is not None and after is not None)
            or (first is not None and before is not None)
        )
        assert refused
        return
    assert 0 <= page.size <= MAX_PAGE_SIZE
    assert not (first is not None and last is not None)
    if first is not None:
        assert page.size == first and not page.backward
    if last is not None:
        assert page.size == last and page.backward


async def test_page_cursors() -> None:
    async def count() -> int:
        return 3

    page = Page(items=[1, 2, 3], cursors=["a", "b", "c"], has_next=True, has_previous=False, count=count)
    assert (page.start_cursor, page.end_cursor) == ("a", "c")
    assert await page.count() == 3
    empty = Page(items=[], cursors=[], has_next=False, has_previous=False, count=count)
    assert (empty.start_cursor, empty.end_cursor) == (None, None)
