"""The identifiers the service accepts (SPEC 3.1): checked and put in one canonical form on
input, so that the same right or company typed two ways is still one record.

Pure functions, no database: district codes, which are data, are checked by the services.
Every validator raises ``ValueError`` with a message fit to show the caller.
"""

from __future__ import annotations

import re

from app.models.ip_asset import IP_KINDS

# --- unified social credit code (统一社会信用代码, GB 32100-2015) ------------------------------

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters a credit code may use (no I, O, S, V, Z), in the order of their values."""
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CREDIT_CODE_LENGTH = 18
_CREDIT_VALUES = {char: value for value, char in enumerate(CREDIT_CODE_ALPHABET)}


def _credit_value(char: str, position: int) -> int:
    value = _CREDIT_VALUES.get(char)
    if value is None:
        raise ValueError(
            f"character {position} of the credit code is {char!r}; a credit code uses only "
            "0-9 and the capital letters A-H, J-N, P-R, T, U, W, X, Y"
        )
    return value


def credit_code_check_char(first17: str) -> str:
    """The 18th character of the credit code whose first 17 characters are ``first17``."""
    if len(first17) != CREDIT_CODE_LENGTH - 1:
        raise ValueError("the check character is computed over exactly 17 characters")
    pairs = zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    total = sum(
        _credit_value(char, position) * weight
        for position, (char, weight) in enumerate(pairs, start=1)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalise_credit_code(value: str) -> str:
    """The credit code in canonical form (trimmed, upper case), or ``ValueError``."""
    code = value.strip().upper()
    if len(code) != CREDIT_CODE_LENGTH:
        raise ValueError(f"a unified social credit code has 18 characters, not {len(code)}")
    expected = credit_code_check_char(code[:-1])
    _credit_value(code[-1], CREDIT_CODE_LENGTH)
    if code[-1] != expected:
        raise ValueError(
            "the check character (the 18th) does not match the first 17: the code is mistyped"
        )
    return code


# --- patent application numbers (专利申请号) ----------------------------------------------------

PATENT_KINDS = ("invention_patent", "utility_model", "design_patent")
PATENT_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
# The type digit after the year: 8 and 9 are PCT applications entering the national phase.
PATENT_TYPE_DIGITS = {"invention_patent": "18", "utility_model": "29", "design_patent": "3"}
_TYPE_NAMES = {
    "invention_patent": "an invention patent's is 1, or 8 for a PCT entry",
    "utility_model": "a utility model's is 2, or 9 for a PCT entry",
    "design_patent": "a design's is 3",
}
# 12 digits (2003 onwards: YYYY, type, 7-digit serial) or 8 (1985-2003: YY, type, 5-digit
# serial), then the check digit, dotted or not.
_PATENT_FORM = re.compile(r"(?P<body>[0-9]{12}|[0-9]{8})\.?(?P<check>[0-9X])")
_NEW_FORM_FIRST_YEAR = 2003


def patent_check_digit(body: str) -> str:
    """The check digit of a patent application number's 12 (or, before 2003, 8) digits."""
    if len(body) not in (8, 12) or not body.isascii() or not body.isdigit():
        raise ValueError("the check digit is computed over 12 (or, before 2003, 8) digits")
    check = sum(int(d) * w for d, w in zip(body, PATENT_WEIGHTS, strict=False)) % 11
    return "X" if check == 10 else str(check)


def normalise_patent_number(kind: str, value: str, *, current_year: int | None = None) -> str:
    """The application number as ``201710601862.3`` (or ``98100001.X``): the optional ``ZL``
    prefix and any spaces dropped, the check digit dotted. ``ValueError`` when it is malformed,
    its check digit is wrong, its type digit is not ``kind``'s or, given ``current_year`` (the
    Asia/Shanghai year of the caller's clock), its filing year is later than that: nobody has
    filed next year's application yet."""
    if kind not in PATENT_TYPE_DIGITS:
        raise ValueError(f"{kind!r} is not a kind of patent")
    # Numbers are often printed grouped, "ZL 2016 2 0161392.4": the spaces carry nothing.
    text = "".join(value.split()).upper()
    text = text.removeprefix("ZL")
    match = _PATENT_FORM.fullmatch(text)
    if match is None:
        raise ValueError(
            "a patent application number is 12 digits and a check digit, such as "
            "201710601862.3 (or, before 2003, 8 digits and a check digit), with an optional ZL"
        )
    body, check = match["body"], match["check"]
    if len(body) == 12:
        year, type_digit = int(body[:4]), body[4]
        if year < _NEW_FORM_FIRST_YEAR:
            raise ValueError(f"12-digit application numbers start in 2003, not {year}")
    else:
        short_year, type_digit = int(body[:2]), body[2]
        if 4 <= short_year <= 84:
            raise ValueError(
                f"8-digit application numbers run from 1985 to 2003, not {short_year:02d}"
            )
        year = short_year + (1900 if short_year >= 85 else 2000)
    if current_year is not None and year > current_year:
        raise ValueError(
            f"the filing year {year} is later than the current year {current_year}: "
            "the number is mistyped"
        )
    if check != patent_check_digit(body):
        raise ValueError("the check digit does not match the number: the number is mistyped")
    if type_digit not in PATENT_TYPE_DIGITS[kind]:
        raise ValueError(
            f"the type digit after the year is {type_digit}, but {_TYPE_NAMES[kind]}: "
            "the number is of another kind of patent"
        )
    return f"{body}.{check}"


# --- trademarks and software copyrights ---------------------------------------------------------

_TRADEMARK_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
NICE_CLASSES = range(1, 46)
SOFTWARE_COPYRIGHT_MAX = 32


def normalise_trademark_number(value: str) -> str:
    text = value.strip()
    if not _TRADEMARK_NUMBER.fullmatch(text):
        raise ValueError("a trademark registration number is 1 to 9 digits, not starting with 0")
    return text


def normalise_software_copyright_number(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("a software copyright registration number may not be empty")
    if len(text) > SOFTWARE_COPYRIGHT_MAX:
        raise ValueError(
            f"a software copyright registration number has at most {SOFTWARE_COPYRIGHT_MAX} "
            f"characters, not {len(text)}"
        )
    if not text.isprintable():
        raise ValueError("a software copyright registration number may not hold control characters")
    return text


def normalise_ip_number(kind: str, value: str, *, current_year: int | None = None) -> str:
    """The registration or application number of an IP asset of ``kind``, canonical. A
    patent's filing year is checked against ``current_year`` when it is given (the input
    schema knows no clock; the service, which does, passes it)."""
    if kind in PATENT_TYPE_DIGITS:
        return normalise_patent_number(kind, value, current_year=current_year)
    if kind == "trademark":
        return normalise_trademark_number(value)
    if kind == "software_copyright":
        return normalise_software_copyright_number(value)
    raise ValueError(f"{kind!r} is not a kind of IP asset; one of {', '.join(IP_KINDS)}")


def check_nice_class(kind: str, nice_class: int | None) -> int | None:
    """Trademarks name their Nice class (1-45); other kinds have none."""
    if kind == "trademark":
        if nice_class is None:
            raise ValueError("a trademark needs its Nice class (1 to 45)")
        if nice_class not in NICE_CLASSES:
            raise ValueError(f"Nice classes run from 1 to 45, not {nice_class}")
        return nice_class
    if nice_class is not None:
        raise ValueError(f"only trademarks have a Nice class; {kind} has none")
    return None
