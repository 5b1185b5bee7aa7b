"""Names: which names are valid and when two names are the same user.  Pure code.

One set of rules for every protocol (the line protocol's ``LOGIN``, IRC's ``NICK``), for the room
and for the cluster, so a name valid on one side is valid and the same user on the other.

- A name is 1-32 characters, each a letter, a decimal digit, ``_``, ``-`` or ``.``, with all its
  letters from one script (or from scripts written together), so ``Аlice`` with a Cyrillic ``А``
  cannot pose as ``Alice`` (docs/PROTOCOL.md, *Names*).
- Two names are the same user when ``username_key`` is equal: NFKC, then casefold, so case and
  width forms are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_USERNAME_CHARS: Final = 32
_ASCII_USERNAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def is_valid_username(name: str) -> bool:
    """1-32 characters, each a letter, a decimal digit, ``_``, ``-`` or ``.`` (Unicode letters too),
    with all letters from one script (see ``letter_scripts``), so ``Аlice`` with a Cyrillic ``А``
    cannot pose as ``Alice``."""
    if name.isascii():
        return _ASCII_USERNAME.fullmatch(name) is not None
    return (
        0 < len(name) <= MAX_USERNAME_CHARS
        and all(char.isalpha() or char.isdecimal() or char in "_-." for char in name)
        and _one_script(letter_scripts(name))
    )


# Scripts that are written together: Japanese mixes kanji (CJK) with both kana, Korean mixes
# hanja with hangul, Chinese may add bopomofo; each may also carry Latin (as in UTS #39's
# "highly restrictive" level).  Any other mix, such as Latin with Cyrillic or Greek, is refused.
_WRITTEN_TOGETHER: Final = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
)
_SCRIPT_ALIASES: Final = {"KATAKANA-HIRAGANA": "KATAKANA", "IDEOGRAPHIC": "CJK"}


def letter_scripts(name: str) -> set[str]:
    """The scripts of the letters of ``name``: the first word of each letter's Unicode name, after
    NFKC (so fullwidth ``Ａ`` is LATIN).  Digits, ``_``, ``-`` and ``.`` belong to every script.

    A practical rule, not Unicode's Script property (which the standard library lacks): a few
    letters are named after something else (``MODIFIER LETTER ...``) and count as a script of
    their own, so a name that mixes them with others is refused.
    """
    scripts = set()
    for char in unicodedata.normalize("NFKC", name):
        if char.isalpha():
            word = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
            scripts.add(_SCRIPT_ALIASES.get(word, word))
    return scripts


def _one_script(scripts: set[str]) -> bool:
    return len(scripts) <= 1 or any(scripts <= together for together in _WRITTEN_TOGETHER)


def username_key(name: str) -> str:
    """The identity of a name: equal keys mean the same user (case and width forms ignored)."""
    return unicodedata.normalize("NFKC", name).casefold()
