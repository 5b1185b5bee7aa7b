"""Names: which names are valid and when two names are the same user.  Pure code.

One set of rules for every protocol (the line protocol's ``LOGIN``, IRC's ``NICK``), for the room
and for the cluster, so a name valid on one side is valid and the same user on the other.

- A name is 1-32 characters, each a letter, a decimal digit, ``_``, ``-`` or ``.``, with all its
  letters from one script (or from scripts written together), so ``Аlice`` with a Cyrillic ``А``
  cannot pose as ``Alice``; no invisible character, no other script's digits, and no name that only
  looks like an ASCII one (docs/PROTOCOL.md, *Names*).
- Two names are the same user when ``username_key`` is equal: their UTS #39 skeletons, case-folded,
  so case, width forms and look-alikes (``alice``, ``ALICE``, ``aIice``, ``a1ice``) are one user.

The Unicode data (confusables, invisible characters) is in ``unicode_tables``, generated.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from typing import Final, Literal

from algokart_chat import unicode_tables

MAX_USERNAME_CHARS: Final = 32
_ASCII_USERNAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,32}")


NameProblem = Literal["length", "characters", "invisible", "scripts", "digits", "lookalike"]


def is_valid_username(name: str) -> bool:
    """1-32 characters, each a letter, a decimal digit, ``_``, ``-`` or ``.``, and the rules of
    ``username_problem``."""
    return username_problem(name) is None


def username_problem(name: str) -> NameProblem | None:
    """Which rule ``name`` breaks, or None for a valid name:

    - ``length``: 1-32 characters;
    - ``characters``: each a letter, a decimal digit, ``_``, ``-`` or ``.`` (Unicode letters too);
    - ``invisible``: no invisible character (Unicode's Default_Ignorable_Code_Point: the Hangul
      fillers are letters to ``str.isalpha``), before or after NFKC;
    - ``scripts``: letters from one script (see ``letter_scripts``), so ``Аlice`` with a Cyrillic
      ``А`` cannot pose as ``Alice``; digits other than ASCII's belong to their script, so
      ``a١ice`` mixes Latin and Arabic;
    - ``digits``: all the digits of a name are of one decimal system (UTS #39 mixed numbers);
    - ``lookalike``: a name that is not ASCII must not have an ASCII skeleton: ``аӏісе`` in
      Cyrillic, ``ᎪᏞᎥᏟᎬ`` in Cherokee or ``ɑlice`` would pass for an ASCII name in any case.
    """
    if not 0 < len(name) <= MAX_USERNAME_CHARS:
        return "length"
    if name.isascii():
        return None if _ASCII_USERNAME.fullmatch(name) is not None else "characters"
    if not all(char.isalpha() or char.isdecimal() or char in "_-." for char in name):
        return "characters"
    normal = unicodedata.normalize("NFKC", name)
    if any(map(_is_default_ignorable, name + normal)):
        return "invisible"
    if not _one_script(letter_scripts(name)):
        return "scripts"
    if len({ord(char) - unicodedata.decimal(char) for char in normal if char.isdecimal()}) > 1:
        return "digits"
    if not normal.isascii() and _skeleton(normal).isascii():
        return "lookalike"
    return None


def _is_default_ignorable(char: str) -> bool:
    ranges = unicode_tables.DEFAULT_IGNORABLE
    at = bisect.bisect_right(ranges, (ord(char), 0x10FFFF)) - 1
    return at >= 0 and ranges[at][0] <= ord(char) <= ranges[at][1]


# Scripts that are written together: Japanese mixes kanji (CJK) with both kana, Korean mixes
# hanja with hangul, Chinese may add bopomofo; each may also carry Latin (as in UTS #39's
# "highly restrictive" level).  Any other mix, such as Latin with Cyrillic or Greek, is refused.
_WRITTEN_TOGETHER: Final = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
)
_SCRIPT_ALIASES: Final = {
    "KATAKANA-HIRAGANA": "KATAKANA",
    "IDEOGRAPHIC": "CJK",
    "ARABIC-INDIC": "ARABIC",  # ARABIC-INDIC DIGIT ONE
    "EXTENDED": "ARABIC",  # EXTENDED ARABIC-INDIC DIGIT ONE (Persian, Urdu)
}


def letter_scripts(name: str) -> set[str]:
    """The scripts of the letters of ``name``, and of its digits other than ASCII's: the first word
    of each one's Unicode name, after NFKC (so fullwidth ``Ａ`` is LATIN and fullwidth ``１`` is
    ASCII's ``1``).  ASCII digits, ``_``, ``-`` and ``.`` belong to every script.

    A practical rule, not Unicode's Script property (which the standard library lacks): a few
    letters are named after something else (``MODIFIER LETTER ...``) and count as a script of
    their own, so a name that mixes them with others is refused.
    """
    scripts = set()
    for char in unicodedata.normalize("NFKC", name):
        if char.isalpha() or (char.isdecimal() and not char.isascii()):
            word = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
            scripts.add(_SCRIPT_ALIASES.get(word, word))
    return scripts


def _one_script(scripts: set[str]) -> bool:
    return len(scripts) <= 1 or any(scripts <= together for together in _WRITTEN_TOGETHER)


def username_key(name: str) -> str:
    """The identity of a name: equal keys mean the same user, so a name that looks like one in use
    is taken.  The UTS #39 skeleton of the NFKC, case-folded name, case-folded again (``0`` is
    ``O`` in a skeleton), with ``i`` written ``l``: names are case-insensitive, so ``I`` is both
    ``i`` (its small letter) and ``l`` (its look-alike), and the key cannot tell them apart.
    """
    folded = _skeleton(unicodedata.normalize("NFKC", name).casefold()).casefold()
    return folded.replace("i", "l")


def _skeleton(text: str) -> str:
    """UTS #39's skeleton: NFD, each character by its prototype, NFD again."""
    mapped = "".join(_CONFUSABLES.get(char, char) for char in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


# unicode_tables.CONFUSABLES is packed, one "<source><prototype>" a line.
_CONFUSABLES: Final = {entry[0]: entry[1:] for entry in unicode_tables.CONFUSABLES.split("\n")}
