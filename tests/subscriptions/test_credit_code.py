import pytest

from subscriptions import credit_code
from subscriptions.credit_code import InvalidCreditCode

# real codes from public business registrations, and ones made with the GB 32100-2015 formula
REAL = ["91440300708461136T", "91110108551385082Q", "91110000802100433B", "91330100799655058B"]


@pytest.mark.parametrize("code", REAL + [credit_code.complete(f"9121140{n:010d}") for n in range(0, 50, 7)])
def test_valid_codes(code):
    assert credit_code.validate(code) == code
    assert credit_code.is_valid(code)


def test_check_character_covers_all_values():
    # 31 different 17-character prefixes reach every possible check character, including 0 (31 % 31)
    seen = {credit_code.check_character(f"91211400{n:09d}") for n in range(2000)}
    assert seen == set(credit_code.CHARSET)


def test_normalizes_what_people_paste():
    assert credit_code.validate(" 91440300 708461136t ") == "91440300708461136T"
    assert credit_code.validate("９１４４０３００７０８４６１１３６Ｔ") == "91440300708461136T"


@pytest.mark.parametrize("code,length", [("9144030070846113", 16), ("91440300708461136TT", 19), ("", 0)])
def test_wrong_length(code, length):
    with pytest.raises(InvalidCreditCode) as exc:
        credit_code.validate(code)
    assert "18位" in exc.value.zh and f"{length}位" in exc.value.zh
    assert "18 characters" in exc.value.en


@pytest.mark.parametrize("code,pos,char", [("91440300708461136I", 18, "I"), ("9144O300708461136T", 5, "O"),
                                           ("914403007084611#6T", 16, "#")])
def test_bad_character(code, pos, char):
    with pytest.raises(InvalidCreditCode) as exc:
        credit_code.validate(code)
    assert f"第{pos}位“{char}”" in exc.value.zh
    assert f"character {pos} '{char}'" in exc.value.en


def test_wrong_check_character_says_what_it_should_be():
    with pytest.raises(InvalidCreditCode) as exc:
        credit_code.validate("91440300708461136U")
    assert exc.value.expected == "T"
    assert "应为“T”" in exc.value.zh and "“U”" in exc.value.zh
    assert "should be 'T'" in exc.value.en


def test_a_changed_digit_is_caught():
    # 91110000100000589B circulates as an example, but its check character is A
    assert credit_code.check_character("91110000100000589") == "A"
    assert not credit_code.is_valid("91110000100000589B")
    assert not credit_code.is_valid("91440300708461137T")  # one digit off
