"""Text folding: the one rule for comparing what people write with what we know.

The same word arrives in many shapes: full-width (``６号``, ``ＡＥＤ``), upper or lower case, with
spaces, hyphens or punctuation in between (``Hot Water``, ``hot-water``, ``红莲南里，６号``).
Every comparison of such text folds both sides with :func:`fold`:

1. **NFKC** (:func:`half_width`): full-width letters, digits and punctuation become half-width,
   compatibility forms their plain ones (``６`` → ``6``, ``，`` → ``,``, ``²`` → ``2``,
   ``㎡`` → ``m2``);
2. **lower case**;
3. runs of the characters ``drop`` matches become ``sep`` (removed by default).

Only ``drop`` differs between uses; each rule is named here with its reason:

:data:`PUNCTUATION` (the default)
    Names: whitespace and every punctuation mark, ``-``, ``_`` and ``#`` included
    (``中国银行(广外支行)`` = ``中国银行 广外支行``). Duplicate host names and addresses.
:data:`ADDRESS_PUNCTUATION`
    Addresses read by the parser (:func:`geodata.places.addresses.normalise_text`): as
    :data:`PUNCTUATION` but ``-``, ``_`` and ``#`` stay, because house numbers are written with
    them (``6-1号``, ``3#楼``).
:data:`KEY_SEPARATORS`
    Vocabulary keys (host type, access, status): whitespace, ``_`` and ``-`` only, so
    ``host type``, ``host-type`` and ``host_type`` meet while other marks stay meaningful.
:data:`WHITESPACE`
    Column headers: only whitespace goes; brackets stay so that a bracketed explanation
    (``面积 (m²)``) can be recognised and cut off afterwards.

Modules with a rule of their own say so where they define it: amenity words also drop ``/``
and ``·`` (``A/C``), demand groups join words with ``_`` (``road_sweeper``). Parsers of
numbers, dates, floors and hours use :func:`half_width` alone: they read digits written
full-width but keep spaces and case for their own grammar.

Not folding, and kept apart on purpose: :func:`stations.standard.area_key` (an area's name
without its administrative suffix, to compare a candidate's area with the union's) and the
gazetteer's suffix rules (:func:`geodata.places.addresses.strip_admin_suffix`).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "PUNCTUATION",
    "ADDRESS_PUNCTUATION",
    "KEY_SEPARATORS",
    "WHITESPACE",
    "half_width",
    "fold",
]

# Marks removed from names and addresses alike (full-width forms listed for readability;
# NFKC has already turned most of them into their ASCII twins).
_MARKS = ".,，。、;；:：'\"“”‘’()（）[]【】<>《》/\\|·•"
# Marks that join the parts of a house number: removed from names, kept in addresses.
_JOINERS = "-_#＃"

#: Names: whitespace and punctuation (see the module docstring).
PUNCTUATION = re.compile(r"[\s" + re.escape(_MARKS + _JOINERS) + "]+")
#: Addresses: as :data:`PUNCTUATION`, but ``-``, ``_`` and ``#`` stay (``6-1号``, ``3#楼``).
ADDRESS_PUNCTUATION = re.compile(r"[\s" + re.escape(_MARKS) + "]+")
#: Vocabulary keys: whitespace, ``_`` and ``-`` (``host type`` = ``host-type`` = ``host_type``).
KEY_SEPARATORS = re.compile(r"[\s_\-]+")
#: Column headers: whitespace only.
WHITESPACE = re.compile(r"\s+")


def half_width(text: object) -> str:
    """``str(text)`` in NFKC: full-width and compatibility characters as their plain forms.

    Blank values (``None``, NaN) are the caller's to handle first
    (:func:`stations.records.clean_text`).
    """
    return unicodedata.normalize("NFKC", str(text))


def fold(text: object, *, drop: re.Pattern[str] = PUNCTUATION, sep: str = "") -> str:
    """Fold text for comparison: NFKC, lower case, runs of ``drop`` replaced by ``sep``.

    Parameters
    ----------
    text : object
        What was written (taken as ``str(text)``).
    drop : re.Pattern
        The characters that do not matter: :data:`PUNCTUATION` (names, the default),
        :data:`ADDRESS_PUNCTUATION`, :data:`KEY_SEPARATORS` or :data:`WHITESPACE`.
    sep : str
        What a run of them becomes (removed by default).

    Examples
    --------
    >>> fold("中国银行（广外支行）")
    '中国银行广外支行'
    >>> fold("Hot-Water", drop=KEY_SEPARATORS)
    'hotwater'
    >>> fold("红莲南街６－１号", drop=ADDRESS_PUNCTUATION)
    '红莲南街6-1号'
    """
    return drop.sub(sep, half_width(text).lower())
