"""Unit tests of the name rules (pure), shared by every protocol, the room and the cluster."""

from __future__ import annotations

import importlib.util
import os
import unicodedata
import unittest
from pathlib import Path
from types import ModuleType

from support import ROOT

from algokart_chat import names, unicode_tables

# Each poses as "alice" while she is online: an invisible Hangul filler after the name, all-Cyrillic
# and all-Cherokee look-alikes, an Arabic-Indic digit one, a Latin dental click, a filler alone.
HOSTILE = (
    "alice\u1160",
    "\u0430\u04cf\u0456\u0441\u0435",
    "\u13aa\u13de\u13a5\u13df\u13ac",
    "a\u0661ice",
    "a\u01c0ice",
    "\u3164",
)


class UsernameTest(unittest.TestCase):
    def test_valid_names(self) -> None:
        for name in ("a", "Naman", "x_y-z.9", "a" * 32, "José", "名前", "ａｌｉｃｅ"):
            self.assertTrue(names.is_valid_username(name), name)

    def test_invalid_names(self) -> None:
        for name in ("", "a" * 33, "é" * 33, "a b", "a\tb", "bob!", "a/b", "e\u0301", "💬", "x\x00", "１½"):
            self.assertFalse(names.is_valid_username(name), name)

    def test_names_in_one_script_pass_mixed_scripts_do_not(self) -> None:
        for name in ("Алиса", "Zoë_2", "ΑΒΓ-1", "山田たろう", "김민수", "ｔａｒｏ", "Иван.2"):
            self.assertTrue(names.is_valid_username(name), name)
        for name in ("\u0410lice", "Ωmega", "pаypal", "Алиса\u0391"):  # Cyrillic А in Latin, Greek with Latin ...
            self.assertFalse(names.is_valid_username(name), name)
        self.assertEqual(names.letter_scripts("Zoë_2.-"), {"LATIN"})
        self.assertEqual(names.letter_scripts("_-.123"), set())

    def test_key_ignores_case_and_width(self) -> None:
        self.assertEqual(names.username_key("ＡＬＩＣＥ"), names.username_key("alice"))
        self.assertEqual(names.username_key("Straße"), names.username_key("STRASSE"))
        self.assertNotEqual(names.username_key("alice"), names.username_key("alice2"))


class LookAlikeTest(unittest.TestCase):
    def test_no_hostile_name_can_pose_as_alice(self) -> None:
        alice = names.username_key("alice")
        problems = [names.username_problem(name) for name in HOSTILE]
        self.assertEqual(problems, ["invisible", "lookalike", "lookalike", "scripts", "lookalike", "invisible"])
        # Even without those rules, the skeleton makes the visible ones alice.
        self.assertEqual([names.username_key(name) for name in HOSTILE[1:5]], [alice] * 4)

    def test_look_alikes_are_one_user(self) -> None:
        for same in (("alice", "aIice", "a1ice", "ALICE", "al|ce"), ("bob", "b0b", "BOB"), ("mary", "rnary")):
            with self.subTest(names=same):
                self.assertEqual({names.username_key(name) for name in same}, {names.username_key(same[0])})

    def test_good_names_stay_valid_and_distinct(self) -> None:
        for name, other in (("Zoë", "Zoe"), ("Алиса", "Alisa"), ("dot.user", "dotuser"), ("9lives", "glives")):
            with self.subTest(name=name):
                self.assertTrue(names.is_valid_username(name))
                self.assertNotEqual(names.username_key(name), names.username_key(other))
        self.assertTrue(names.is_valid_username("Том"))  # its small letters do not look Latin

    def test_invisible_characters_are_never_part_of_a_name(self) -> None:
        for name in ("\u115fbob", "\uffa0", "김\u3164", "bob\u200b", "bob\u00ad", "bob\ufe0f"):
            self.assertFalse(names.is_valid_username(name), ascii(name))

    def test_digits_of_another_script_or_system_are_refused(self) -> None:
        self.assertTrue(names.is_valid_username("\u0639\u0644\u064a\u0661\u0662"))  # Arabic letters, Arabic digits
        self.assertTrue(names.is_valid_username("Иван.2"))  # ASCII digits go with any script
        self.assertEqual(names.username_problem("x\u0967"), "scripts")  # Latin and a Devanagari digit
        self.assertEqual(names.username_problem("\u0639\u0661\u06f1"), "digits")  # Arabic-Indic and Persian 1
        self.assertEqual(names.username_problem("\u0639\u0661" + "1"), "digits")

    def test_a_name_that_passes_for_ascii_is_refused(self) -> None:
        for name in ("ɑlice", "асе", "ТОМ", "ΑΒΕ"):  # Latin alpha; Cyrillic; Cyrillic capitals; Greek
            self.assertEqual(names.username_problem(name), "lookalike", name)
        self.assertTrue(names.is_valid_username("ａｌｉｃｅ"))  # (its NFKC is ASCII: alice herself)


class UnicodeTablesTest(unittest.TestCase):
    """src/algokart_chat/unicode_tables.py is what tools/build_unicode_tables.py makes of Unicode's data files,
    and it suits every Python that may run a node."""

    def test_the_table_is_what_the_data_gives(self) -> None:
        data = Path(os.environ.get("ALGOKART_UNICODE_DATA", "/usr/share/unicode"))
        properties = data / "DerivedCoreProperties.txt"
        if not properties.exists():
            self.skipTest(f"no {properties} (Debian: apt-get install unicode-data)")
        builder = _builder()
        ranges = builder.default_ignorable(properties.read_text(encoding="utf-8-sig"))
        self.assertEqual(tuple(ranges), unicode_tables.DEFAULT_IGNORABLE)
        confusables = next(
            (path for path in (data / "confusables.txt", data / "security" / "confusables.txt") if path.exists()), None
        )
        if confusables is None:
            self.skipTest(f"no confusables.txt in {data} or {data}/security (set ALGOKART_UNICODE_DATA)")
        sources = (confusables, properties, data / "DerivedAge.txt")
        built = builder.build(*(path.read_text(encoding="utf-8-sig") for path in sources))
        self.assertEqual(built, (ROOT / "src" / "unicode_tables.py").read_text(encoding="utf-8"))

    def test_the_table_is_at_least_as_new_as_this_python(self) -> None:
        # A letter newer than the table would have no prototype: regenerate it from newer data.
        def version(text: str) -> tuple[int, ...]:
            return tuple(map(int, text.split(".")))

        self.assertLessEqual(version(unicodedata.unidata_version), version(unicode_tables.CONFUSABLES_VERSION))

    def test_every_python_knows_every_prototype(self) -> None:
        # Normalization and case folding are stable for assigned characters, so Pythons of different
        # Unicode versions agree on the key of a name both accept, its prototypes included.
        for entry in unicode_tables.CONFUSABLES.split("\n"):
            unknown = [char for char in entry[1:] if unicodedata.category(char) == "Cn"]
            self.assertEqual(unknown, [], f"prototype of {entry[0]!a}")


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_unicode_tables", ROOT / "tools" / "build_unicode_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    unittest.main()
