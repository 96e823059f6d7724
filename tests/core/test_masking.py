"""One masking module: what followers type, contacts, credit codes and openids."""
from core.masking import keep_ends, mask_data, mask_openid, mask_text

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"  # WeChat's own example: 28 characters


def test_free_text_has_phone_id_card_credit_code_and_openid_masked():
    typed = (f"我叫张三，手机13812345678，也可打 +86 139-1234-5678 或 0429-2123456，身份证11010519491231002x，"
             f"老证件110105491231002，公司代码91440300708461136t，openid {OPENID}")
    masked = mask_text(typed)
    for secret in ("13812345678", "139-1234-5678", "2123456", "19491231", "491231", "708461136", OPENID):
        assert secret not in masked
    assert "138****5678" in masked and "110105********002x" in masked and "914403**********6t" in masked
    assert mask_openid(OPENID) in masked


def test_ordinary_numbers_stay():
    text = "葫政办公开〔2024〕10号于2024-05-01起施行，补贴150000元，热线12345，编号2024051012345678901"
    assert mask_text(text) == text
    assert mask_text("") == "" and mask_text(None) is None


def test_mask_data_reaches_strings_in_lists_and_dicts():
    assert mask_data([{"role": "user", "text": "电话13812345678", "n": 3}]) == [
        {"role": "user", "text": "电话138****5678", "n": 3}]


def test_keep_ends():
    assert keep_ends("oAbCdEfGhIjKlMnOp") == "oAb***nOp"
    assert keep_ends("short") == "*****"
