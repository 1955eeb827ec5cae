"""One text fold (:mod:`stations.text`): the rule, its named variants, and its one home."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geodata.places.addresses import normalise_text
from stations.amenities import normalise_amenity, parse_tristate
from stations.candidates import candidate_column, normalise_name
from stations.records import canonical_column, parse_host_type
from stations.text import (
    ADDRESS_PUNCTUATION,
    KEY_SEPARATORS,
    PUNCTUATION,
    WHITESPACE,
    fold,
    half_width,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("text", "drop", "folded"), [
    ("中国银行（广外支行）", PUNCTUATION, "中国银行广外支行"),
    ("ＡＢＣ　Ｄ-e_f#1", PUNCTUATION, "abcdef1"),
    ("红莲南街６－１号，３#楼", ADDRESS_PUNCTUATION, "红莲南街6-1号3#楼"),
    ("Host-Type", KEY_SEPARATORS, "hosttype"),
    ("host.type", KEY_SEPARATORS, "host.type"),
    ("面积 (m²)", WHITESPACE, "面积(m2)"),
    ("  ", PUNCTUATION, ""),
], ids=["brackets", "full-width", "address-keeps-joiners", "key-separators",
        "key-keeps-other-marks", "header-whitespace", "blank"])
def test_fold_rules(text, drop, folded):
    assert fold(text, drop=drop) == folded


def test_half_width_reads_full_width_and_compatibility_forms():
    assert half_width("１２．５㎡") == "12.5m2"
    assert half_width(12) == "12"


@pytest.mark.parametrize("text", ["中国银行（广外支行）", "Ｈｏｔ－Ｗａｔｅｒ", "面积 (m²)",
                                  "6—1号"])
@pytest.mark.parametrize("drop", [PUNCTUATION, ADDRESS_PUNCTUATION, KEY_SEPARATORS, WHITESPACE],
                         ids=["names", "addresses", "keys", "headers"])
def test_fold_is_idempotent(text, drop):
    assert fold(fold(text, drop=drop), drop=drop) == fold(text, drop=drop)


def test_the_modules_fold_through_it():
    """Names, addresses, headers and vocabulary keys meet however they are written."""
    assert normalise_name("中国银行（广外支行）") == normalise_name("中国银行 广外-支行") == fold(
        "中国银行广外支行")
    assert normalise_text("北京市 西城区，红莲南街６－１号") == "北京市西城区红莲南街6-1号"
    assert normalise_text("红莲南街6—1号") == "红莲南街6-1号"
    assert canonical_column("面积 (m²)") == canonical_column("面积（㎡）") == "area_m2"
    assert candidate_column("坐标 系") == candidate_column("坐标系") == "crs"
    assert parse_host_type("Gas Station") == parse_host_type("ＧＡＳ－station") == "gas_station"
    assert normalise_amenity("Ｈｏｔ－Ｗａｔｅｒ") == "hot_water"
    assert normalise_amenity("A/C") == "cooling"
    assert parse_tristate("ＹＥＳ") == "yes"


def test_nfkc_has_one_home():
    """Only :mod:`stations.text` calls NFKC; every other module asks it."""
    nfkc = re.compile(r"""normalize\(\s*["']NFKC""")
    users = sorted(str(p.relative_to(ROOT)) for package in ("stations", "geodata", "webmap")
                   for p in (ROOT / package).rglob("*.py")
                   if nfkc.search(p.read_text(encoding="utf-8")))
    assert users == ["stations/text.py"]
