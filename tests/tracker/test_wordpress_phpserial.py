"""The reader of PHP's serialize() subset behind the WordPress pixel: strings, integers, null
and arrays are read, everything else is refused cleanly, whatever the bytes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.phpserial import (
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_INPUT,
    MAX_STRING,
    PhpSerialRefused,
    php_serialize,
    php_unserialize,
)

# What PHP 8 prints for serialize(['page_url' => 'http://a.example/é', 'n' => 3, 0 => null]).
PHP_WRITTEN = b'a:3:{s:8:"page_url";s:19:"http://a.example/\xc3\xa9";s:1:"n";i:3;i:0;N;}'


def test_it_reads_what_php_writes_counting_string_lengths_in_bytes():
    assert php_unserialize(PHP_WRITTEN) == {"page_url": "http://a.example/é", "n": 3, 0: None}


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b'a:1:{s:1:"x";O:8:"stdClass":0:{}}', "an object"),
        (b'a:1:{s:1:"x";C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}}', "an object"),
        (b'a:1:{s:1:"x";E:7:"Foo:Bar";}', "an enum"),
        (b"a:2:{i:0;a:0:{}i:1;R:2;}", "a reference"),
        (b"a:2:{i:0;a:0:{}i:1;r:2;}", "a reference"),
        (b'a:1:{s:1:"x";d:0.5;}', "a float"),
        (b'a:1:{s:1:"x";b:1;}', "a boolean"),
        (b'O:8:"stdClass":0:{}', "must be an array"),
        (b's:1:"x";', "must be an array"),
        (b"a:0:{}trailing", "bytes after"),
        (b'a:1:{s:5:"x";i:1;}', "expected"),  # the length says more bytes than there are
        (b'a:1:{s:2:"\xc3";i:1;}', "not UTF-8"),
        (b'a:1:{s:1:"\xff";i:1;}', "not UTF-8"),
        (b'a:2:{s:1:"x";i:1;s:1:"x";i:2;}', "repeats"),
        (b"a:1:{a:0:{}i:1;}", "key must be"),
        (b"a:1:{i:99999999999999999999;i:1;}", "expected"),
        (b"a:1:{i:01;i:1;}", "expected"),
        (b"a:2:{i:0;i:1;}", "key must be"),  # fewer entries than announced
        (b"a:999999999:{}", "array entries"),
        (b"", "must be an array"),
    ],
)
def test_anything_outside_the_subset_is_refused_saying_why(payload, why):
    with pytest.raises(PhpSerialRefused, match=why):
        php_unserialize(payload)


def test_sizes_are_bounded_before_they_are_read():
    deep = b"a:1:{i:0;" * (MAX_DEPTH + 1) + b"a:0:{}" + b"}" * (MAX_DEPTH + 1)
    with pytest.raises(PhpSerialRefused, match="nested deeper"):
        php_unserialize(deep)
    long = b'a:1:{i:0;s:%d:"%s";}' % (MAX_STRING + 1, b"x" * (MAX_STRING + 1))
    with pytest.raises(PhpSerialRefused, match="longer than"):
        php_unserialize(long)
    many = php_serialize({i: {} for i in range(MAX_ELEMENTS + 1)})
    with pytest.raises(PhpSerialRefused, match="array entries"):
        php_unserialize(many)
    with pytest.raises(PhpSerialRefused, match="longer than"):
        php_unserialize(b"a:0:{}" + b" " * MAX_INPUT)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=512))
def test_any_bytes_are_read_or_refused_never_anything_else(data):
    with contextlib.suppress(PhpSerialRefused):
        php_unserialize(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64))
def test_bytes_after_a_valid_prefix_are_read_or_refused_never_anything_else(tail):
    with contextlib.suppress(PhpSerialRefused):
        php_unserialize(PHP_WRITTEN[: len(PHP_WRITTEN) // 2] + tail)


_keys = st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=20))
_scalars = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=40))
_arrays = st.recursive(
    st.dictionaries(_keys, _scalars, max_size=6),
    lambda inner: st.dictionaries(_keys, st.one_of(_scalars, inner), max_size=4),
    max_leaves=20,
).filter(lambda a: _depth(a) <= MAX_DEPTH)


def _depth(value):
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(_arrays)
def test_generated_arrays_round_trip(array):
    assert php_unserialize(php_serialize(array)) == array


@settings(max_examples=300, deadline=None)
@given(_arrays, st.data())
def test_a_cut_or_changed_byte_is_read_or_refused_never_anything_else(array, data):
    raw = bytearray(php_serialize(array))
    index = data.draw(st.integers(0, len(raw) - 1))
    if data.draw(st.booleans()):
        del raw[index:]
    else:
        raw[index] = data.draw(st.integers(0, 255))
    with contextlib.suppress(PhpSerialRefused):
        php_unserialize(bytes(raw))
