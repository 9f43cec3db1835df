"""Phone numbers → E.164, with Google's libphonenumber (`phonenumbers`): the one helper every
flow matches phones with (Striven → Onfleet drivers, Keycafe users).

A number written with `+` (or an international prefix such as `00`) keeps its own country; any
other number is read as a national number of the connection's `default_region` (ISO 3166
alpha-2, `US` unless the connection says otherwise). Extensions are dropped: Onfleet, Keycafe
and SMS reach the line, not the extension. A number libphonenumber does not consider valid for
its region is not a phone (None): the callers keep their own reason code for it.

`phonenumbers` is imported at first use (~25 ms): the API function loads the settings models
at cold start and needs it only when a connection is saved.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

DEFAULT_REGION = "US"


def normalize_phone(value: str | None, default_region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of `value` (e.g. `+13125550107`), or None when it is not a valid number."""
    if not value or not value.strip():
        return None
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value.strip(), (default_region or DEFAULT_REGION).upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    parsed.extension = None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_region(value: str) -> bool:
    """Whether `value` is a region libphonenumber knows (for settings validation)."""
    import phonenumbers

    return value.upper() in phonenumbers.SUPPORTED_REGIONS


def _known_region(value: str) -> str:
    if not is_region(value):
        raise ValueError(f"unknown phone region {value!r} (ISO 3166 alpha-2, e.g. US)")
    return value.upper()


#: A connection setting: the region national phone numbers are read in (validated, upper-cased).
Region = Annotated[str, AfterValidator(_known_region)]
