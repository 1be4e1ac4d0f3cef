"""`X-Attr-*` headers → user attributes, bounded as the search event that logs them."""

from __future__ import annotations

import pytest

from serving.attributes import parse_attributes
from serving.errors import InvalidAttributesError


def test_names_are_lower_cased_with_underscores_and_other_headers_ignored() -> None:
    headers = [("X-Attr-App-Version", "3.2"), ("x-attr-platform", "ios"), ("X-User-Id", "u"), ("x-attr-", "x")]
    assert parse_attributes(headers) == {"app_version": "3.2", "platform": "ios"}


def test_exactly_the_maximum_is_accepted_and_one_more_refused() -> None:
    twenty = [(f"x-attr-a{i}", "v") for i in range(20)]
    assert len(parse_attributes(twenty)) == 20
    with pytest.raises(InvalidAttributesError, match="more than 20"):
        parse_attributes([*twenty, ("x-attr-b", "v")])


def test_an_attribute_given_twice_is_refused() -> None:
    with pytest.raises(InvalidAttributesError, match="'platform' given more than once"):
        parse_attributes([("x-attr-platform", "ios"), ("X-Attr-Platform", "web")])


def test_a_long_name_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidAttributesError) as caught:
        parse_attributes([("x-attr-" + "n" * 5000, "1")])
    assert len(str(caught.value)) < 200
