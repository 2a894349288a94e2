"""The filter language that picks a variant: field, operator, value; read as data, never run."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from dwc.filters import filters_check, filters_match

PROFILE = {
    "email": "ada@example.com",
    "first_name": "Ada",
    "country": "FR",
    "orders": "12",
    "consent_email": "grant",
    "dnc_email": "false",
}


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"field": "country", "op": "eq", "value": "fr"}, True),
        ({"field": "country", "op": "neq", "value": "FR"}, False),
        ({"field": "email", "op": "ends", "value": "@example.com"}, True),
        ({"field": "email", "op": "starts", "value": "bob"}, False),
        ({"field": "first_name", "op": "contains", "value": "d"}, True),
        ({"field": "first_name", "op": "not_contains", "value": "d"}, False),
        ({"field": "city", "op": "empty"}, True),
        ({"field": "city", "op": "not_empty"}, False),
        ({"field": "orders", "op": "gt", "value": 10}, True),
        ({"field": "orders", "op": "lte", "value": "11.5"}, False),
        ({"field": "country", "op": "gt", "value": "1"}, False),  # not a number: no match
        ({"field": "country", "op": "in", "value": ["DE", "FR"]}, True),
        ({"field": "country", "op": "not_in", "value": ["DE", "FR"]}, False),
        ({"field": "consent_email", "op": "eq", "value": "grant"}, True),
        ({"field": "dnc_email", "op": "eq", "value": "true"}, False),
    ],
)
def test_each_operator_compares_the_contacts_field(condition, holds):
    assert filters_match(filters=filters_check(filters=[condition]), profile=PROFILE) is holds


def test_conditions_join_with_and_and_an_or_starts_a_new_group():
    both = filters_check(
        filters=[
            {"field": "country", "op": "eq", "value": "DE"},
            {"field": "orders", "op": "gt", "value": 5},
        ]
    )
    assert not filters_match(filters=both, profile=PROFILE)
    either = [both[0], {**both[1], "glue": "or"}]
    assert filters_match(filters=filters_check(filters=either), profile=PROFILE)


def test_no_filters_match_every_known_contact():
    assert filters_match(filters=[], profile={})


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        ("country == 'FR'", "must be a list"),
        ([{"field": "country", "op": "regex", "value": ".*"}], "op must be one of"),
        ([{"field": "__class__.mro", "op": "eq", "value": "x"}], "field must be"),
        ([{"field": "country", "op": "eq"}], "value is required"),
        ([{"field": "country", "op": "in", "value": "FR"}], "must be a list of"),
        ([{"field": "country", "op": "eq", "value": {"$ne": 1}}], "text or a number"),
        ([{"field": "country", "op": "eq", "value": "x", "code": "1"}], "unknown keys"),
        ([{"field": "c", "op": "eq", "value": "x", "glue": "xor"}], "glue must be"),
        ([{"field": "c", "op": "eq", "value": "x"}] * 21, "at most 20"),
    ],
)
def test_a_malformed_filter_is_refused_with_the_problem_named(filters, says):
    with pytest.raises(ValidationError) as caught:
        filters_check(filters=filters)
    assert says in " ".join(caught.value.messages)
