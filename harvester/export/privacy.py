"""Hold back stories whose text still carries contact details or a pupil's name.

A pure check: it reads values and returns reasons, and the callers decide what to do.
A story stays held until a curator edits the text so that no reason remains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

# Addresses as people type them, including a plus tag and subdomains. Spelled-out forms
# ("jane at school dot org") are not caught.
# Letters outside ASCII and the full-width and small at signs count too, so
# "ann@münchen.de" and "ann＠school.example" are caught.
EMAIL_PATTERN = re.compile(r"[\w.%+'-]+[@\uff20\ufe6b][\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")

# Numbers without a country code are read as UK numbers, the inbox's home region.
DEFAULT_REGION = "GB"
MIN_POSSIBLE_DIGITS = 10
# Text without a run of 6 or more digits (separators allowed) skips the matcher, which
# costs milliseconds per story. NOTE: so a number of 5 digits or fewer, counting the
# country code, is never reported.
_DIGIT_RUN = re.compile(r"\d(?:[\s().\-/]{0,3}\d){5,}")


def find_email_addresses(text: str) -> list[str]:
    return EMAIL_PATTERN.findall(text)


def find_phone_numbers(text: str, region: str = DEFAULT_REGION) -> list[str]:
    """Return the phone numbers in ``text``: UK numbers, and any number given with +CC.

    Valid numbers always count. Possible but unassigned ones, such as the 07700 900xxx
    range reserved for drama, count when they have at least ``MIN_POSSIBLE_DIGITS``
    digits, so that years and short reference numbers do not hold a story back.
    """
    if not _DIGIT_RUN.search(text):
        return []
    found = []
    matcher = phonenumbers.PhoneNumberMatcher(
        text, region, leniency=phonenumbers.Leniency.POSSIBLE
    )
    for match in matcher:
        digits = sum(character.isdigit() for character in match.raw_string)
        if digits >= MIN_POSSIBLE_DIGITS or phonenumbers.is_valid_number(match.number):
            found.append(match.raw_string)
    return found


def find_names(text: str, names: Iterable[str]) -> list[str]:
    """Return the names that occur in ``text`` as whole words, ignoring case."""
    found = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        pattern = r"(?<!\w)" + re.escape(name) + r"(?!\w)"
        if re.search(pattern, text, flags=re.IGNORECASE):
            found.append(name)
    return found


def privacy_reasons(text: str, pupil_names: Iterable[str] = ()) -> list[str]:
    """Return why ``text`` must not be published yet, or an empty list when it may be.

    ``pupil_names`` are the names curators tagged as pupils in this story. The reasons
    do not repeat the address or number itself, so they are safe to log.
    """
    reasons = []
    emails = find_email_addresses(text)
    if emails:
        reasons.append(
            f"text contains {len(emails)} email address(es): remove them before publishing"
        )
    phones = find_phone_numbers(text)
    if phones:
        reasons.append(
            f"text contains {len(phones)} phone number(s): remove them before publishing"
        )
    pupils = find_names(text, pupil_names)
    if pupils:
        reasons.append(
            f"text names {len(pupils)} person(s) tagged as a pupil: remove or anonymize the name before publishing"
        )
    return reasons
