"""Identifier checks (SPEC 3.1) against published numbers, and their error-detecting
properties (any single wrong character is caught)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.identifiers import (
    CREDIT_CODE_ALPHABET,
    PATENT_TYPE_DIGITS,
    check_nice_class,
    credit_code_check_char,
    normalise_credit_code,
    normalise_ip_number,
    normalise_patent_number,
    patent_check_digit,
)

# Codes of real, named enterprises as their registries publish them. Between them the check
# characters cover digits (0, 2, 4, 6, 8) and letters from the start (A) to the end (Y) of the
# alphabet, and the bodies hold letters (MA…, L…).
PUBLISHED_CREDIT_CODES = [
    "9144030071526726XG",  # 腾讯科技（深圳）有限公司 (Tencent), Nanshan
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "914403001922038216",  # 华为技术有限公司 (Huawei), Longgang
    "91440300192317458F",  # 比亚迪股份有限公司 (BYD), Pingshan
    "91440300100012316L",  # 中国平安保险（集团）股份有限公司 (Ping An)
    "91440300192241158P",  # 深圳能源集团股份有限公司 (Shenzhen Energy)
    "91440300568520498A",
    "91110000600037341L",
    "91310115MA1K3BTP2B",
    "91620105551270533Y",
    "91620105L015101280",
    "92340602MA2PBMEM24",  # 92: an individual business (个体工商户)
    "121200004013590816",  # 12: a public institution (事业单位)
]

# Codes issued by other registration authorities start with letters: N2 (village collective
# economic organisations, registered by agriculture bureaux) and Y (other authorities). No
# published one is at hand, so these are built: a plausible body and its computed check.
LETTER_LED_CODES = ["N2440307MA5F1K2Q3A", "N2440307564812739J", "Y1440300MA5G8R9T0L"]

# Application numbers as patentees print them, and the canonical form they stand for.
PUBLISHED_PATENTS = [
    ("invention_patent", "201710601862.3", "201710601862.3"),
    ("invention_patent", "ZL201811564288.X", "201811564288.X"),
    ("invention_patent", "ZL202110377287.X", "202110377287.X"),
    ("invention_patent", "ZL2015 1 0958772.0", "201510958772.0"),
    ("invention_patent", "ZL202510942578.7", "202510942578.7"),
    ("invention_patent", "ZL200510096239.4", "200510096239.4"),
    ("utility_model", "ZL 2016 2 0161392.4", "201620161392.4"),
    ("utility_model", "2016211093409", "201621109340.9"),
    ("utility_model", "ZL202322865413.3", "202322865413.3"),
    ("design_patent", "ZL 2020 3 0469320.8", "202030469320.8"),
    ("design_patent", "2016300227706", "201630022770.6"),
]

PATENT_KINDS = sorted(PATENT_TYPE_DIGITS)


class TestCreditCode:
    @pytest.mark.parametrize("code", PUBLISHED_CREDIT_CODES)
    def test_published_codes_are_valid(self, code):
        assert normalise_credit_code(code) == code
        assert credit_code_check_char(code[:17]) == code[17]

    @pytest.mark.parametrize("code", LETTER_LED_CODES)
    def test_codes_may_start_with_letters(self, code):
        assert normalise_credit_code(code) == code

    def test_spaces_around_and_lower_case_are_normalised(self):
        assert normalise_credit_code("  9144030071526726xg \t") == "9144030071526726XG"

    def test_wrong_check_character_is_refused(self):
        with pytest.raises(ValueError, match="check character"):
            normalise_credit_code("9144030071526726XH")

    @pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
    def test_letters_outside_the_alphabet_are_refused(self, letter):
        with pytest.raises(ValueError, match=f"character 10 of the credit code is '{letter}'"):
            normalise_credit_code(f"914403007{letter}526726XG")

    @pytest.mark.parametrize("code", ["", "9144030071526726X", "9144030071526726XGG"])
    def test_length_is_eighteen(self, code):
        with pytest.raises(ValueError, match="18 characters"):
            normalise_credit_code(code)

    def test_inner_spaces_are_refused(self):
        with pytest.raises(ValueError):
            normalise_credit_code("91440300 71526726XG")

    @given(st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=17, max_size=17))
    def test_appending_the_check_character_always_validates(self, first17):
        code = first17 + credit_code_check_char(first17)
        assert normalise_credit_code(code) == code

    @given(
        st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=17, max_size=17),
        st.integers(min_value=0, max_value=17),
        st.integers(min_value=1, max_value=30),
    )
    def test_any_single_substitution_is_caught(self, first17, position, shift):
        code = first17 + credit_code_check_char(first17)
        old = CREDIT_CODE_ALPHABET.index(code[position])
        new = CREDIT_CODE_ALPHABET[(old + shift) % 31]
        typo = code[:position] + new + code[position + 1 :]
        with pytest.raises(ValueError):
            normalise_credit_code(typo)


def _patent_bodies(kind: str):
    type_digit = st.sampled_from(PATENT_TYPE_DIGITS[kind])
    new_form = st.builds(
        lambda year, t, serial: f"{year}{t}{serial:07d}",
        st.integers(min_value=2003, max_value=2099),
        type_digit,
        st.integers(min_value=0, max_value=9_999_999),
    )
    old_form = st.builds(
        lambda year, t, serial: f"{year:02d}{t}{serial:05d}",
        st.sampled_from([*range(85, 100), *range(0, 4)]),
        type_digit,
        st.integers(min_value=0, max_value=99_999),
    )
    return st.one_of(new_form, old_form)


patent_cases = st.sampled_from(PATENT_KINDS).flatmap(
    lambda kind: st.tuples(st.just(kind), _patent_bodies(kind))
)


class TestPatentNumber:
    @pytest.mark.parametrize(("kind", "printed", "canonical"), PUBLISHED_PATENTS)
    def test_published_numbers_are_valid(self, kind, printed, canonical):
        assert normalise_patent_number(kind, printed) == canonical

    def test_the_spec_example_with_a_wrong_check_digit_is_refused(self):
        with pytest.raises(ValueError, match="check digit does not match"):
            normalise_patent_number("invention_patent", "201710601862.4")

    def test_a_placeholder_number_fails_its_check(self):
        # Printed on a web page as an example; its check digit is not the right one.
        with pytest.raises(ValueError, match="check digit"):
            normalise_patent_number("invention_patent", "ZL202310123456.7")

    @pytest.mark.parametrize(
        "printed", ["ZL201710601862.3", "zl201710601862.3", "2017106018623", "ZL2017106018623"]
    )
    def test_prefix_and_dot_are_optional(self, printed):
        assert normalise_patent_number("invention_patent", printed) == "201710601862.3"

    def test_lower_case_x_check_digit(self):
        assert normalise_patent_number("invention_patent", "201811564288x") == "201811564288.X"

    @pytest.mark.parametrize(
        ("body", "kind"),
        [
            ("98100001", "invention_patent"),
            ("02212345", "utility_model"),
            ("89300007", "design_patent"),
        ],
    )
    def test_pre_2003_eight_digit_form(self, body, kind):
        # Built numbers: an old-form body and its computed check digit.
        check = patent_check_digit(body)
        assert normalise_patent_number(kind, f"ZL{body}.{check}") == f"{body}.{check}"
        assert normalise_patent_number(kind, f"{body}{check}") == f"{body}.{check}"

    @pytest.mark.parametrize(
        ("kind", "number"),
        [
            ("utility_model", "201710601862.3"),  # type 1: an invention
            ("design_patent", "ZL201620161392.4"),  # type 2: a utility model
            ("invention_patent", "201630022770.6"),  # type 3: a design
        ],
    )
    def test_type_digit_must_agree_with_the_kind(self, kind, number):
        with pytest.raises(ValueError, match="type digit"):
            normalise_patent_number(kind, number)

    def test_pct_entries_are_inventions_or_utility_models(self):
        body = "20178" + "0012345"
        number = f"{body}.{patent_check_digit(body)}"
        assert normalise_patent_number("invention_patent", number) == number
        with pytest.raises(ValueError, match="type digit"):
            normalise_patent_number("design_patent", number)

    @pytest.mark.parametrize(
        "printed",
        ["", "ZL", "20171060186.3", "2017106018623.3", "201710601862-3", "CN201710601862.3"],
    )
    def test_malformed_numbers_are_refused(self, printed):
        with pytest.raises(ValueError, match="12 digits and a check digit"):
            normalise_patent_number("invention_patent", printed)

    def test_years_outside_each_form_are_refused(self):
        body = "199910012345"
        with pytest.raises(ValueError, match="start in 2003"):
            normalise_patent_number("invention_patent", f"{body}.{patent_check_digit(body)}")
        with pytest.raises(ValueError, match="1985 to 2003"):
            normalise_patent_number(
                "invention_patent", f"05100001.{patent_check_digit('05100001')}"
            )

    def test_a_filing_year_after_the_current_year_is_refused(self):
        body = "202710601862"
        number = f"{body}.{patent_check_digit(body)}"
        with pytest.raises(
            ValueError, match="filing year 2027 is later than the current year 2026"
        ):
            normalise_patent_number("invention_patent", number, current_year=2026)
        with pytest.raises(ValueError, match="later than the current year"):
            normalise_ip_number("invention_patent", number, current_year=2026)
        assert normalise_patent_number("invention_patent", number, current_year=2027) == number
        # Without a year to compare with, only the number's form is checked.
        assert normalise_patent_number("invention_patent", number) == number

    @given(patent_cases, st.integers(min_value=2003, max_value=2099))
    def test_accepted_exactly_when_filed_no_later_than_the_current_year(self, case, current):
        kind, body = case
        number = f"{body}.{patent_check_digit(body)}"
        # The filing year as a reader of the number sees it: YYYY, or 19YY / 20YY before 2003.
        year = (
            int(body[:4])
            if len(body) == 12
            else int(body[:2]) + (1900 if body[0] in "89" else 2000)
        )
        if year <= current:
            assert normalise_patent_number(kind, number, current_year=current) == number
        else:
            with pytest.raises(ValueError, match="later than the current year"):
                normalise_patent_number(kind, number, current_year=current)

    @given(patent_cases)
    def test_appending_the_check_digit_always_validates(self, case):
        kind, body = case
        check = patent_check_digit(body)
        canonical = f"{body}.{check}"
        assert normalise_patent_number(kind, canonical) == canonical
        assert normalise_patent_number(kind, f"ZL{body}{check}") == canonical

    @given(patent_cases, st.data())
    def test_any_single_substitution_is_caught(self, case, data):
        kind, body = case
        number = body + patent_check_digit(body)
        position = data.draw(st.integers(min_value=0, max_value=len(number) - 1))
        allowed = "0123456789X" if position == len(number) - 1 else "0123456789"
        new = data.draw(st.sampled_from(allowed).filter(lambda c: c != number[position]))
        typo = number[:position] + new + number[position + 1 :]
        with pytest.raises(ValueError):
            normalise_patent_number(kind, typo)


class TestOtherNumbers:
    @pytest.mark.parametrize(("printed", "canonical"), [("1", "1"), (" 12345678 ", "12345678")])
    def test_trademark_numbers_are_digits(self, printed, canonical):
        assert normalise_ip_number("trademark", printed) == canonical

    @pytest.mark.parametrize("printed", ["", "0123", "1234567890", "12a4", "１２３"])
    def test_bad_trademark_numbers(self, printed):
        with pytest.raises(ValueError, match="1 to 9 digits"):
            normalise_ip_number("trademark", printed)

    def test_software_copyright_is_free_text_up_to_32(self):
        assert normalise_ip_number("software_copyright", " 2017SR248720 ") == "2017SR248720"
        assert normalise_ip_number("software_copyright", "软著登字第1234567号") == (
            "软著登字第1234567号"
        )
        assert normalise_ip_number("software_copyright", "x" * 32) == "x" * 32
        with pytest.raises(ValueError, match="at most 32"):
            normalise_ip_number("software_copyright", "x" * 33)
        with pytest.raises(ValueError, match="empty"):
            normalise_ip_number("software_copyright", "   ")

    def test_dispatch_by_kind(self):
        assert normalise_ip_number("invention_patent", "ZL2017106018623") == "201710601862.3"
        with pytest.raises(ValueError, match="not a kind of IP asset"):
            normalise_ip_number("database", "1")

    def test_nice_class_only_and_always_for_trademarks(self):
        assert check_nice_class("trademark", 9) == 9
        assert check_nice_class("invention_patent", None) is None
        with pytest.raises(ValueError, match="needs its Nice class"):
            check_nice_class("trademark", None)
        with pytest.raises(ValueError, match="1 to 45"):
            check_nice_class("trademark", 46)
        with pytest.raises(ValueError, match="only trademarks"):
            check_nice_class("utility_model", 9)
