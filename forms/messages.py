"""The zh_CN/en catalogue of the few validation messages forms emit, and locale handling.

The schema reports short codes (``required``, ``too_long`` ...); this module turns them into text
in the user's language, filling in the limits from the field definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Literal

Language = Literal["zh", "en"]

DEFAULT_LOCALE: Final = "en"

# The limits live here rather than in the schema module so the messages and the checks
# cannot drift apart.
STRING_MAX_LENGTH: Final = 200
TEXT_MAX_LENGTH: Final = 10_000
PARTS_MAX_ROWS: Final = 50

CATALOGUE: Final[Mapping[str, Mapping[Language, str]]] = {
    "required": {"en": "This field is required.", "zh": "此项为必填项。"},
    "invalid_string": {"en": "Must be text.", "zh": "必须为文本。"},
    "too_long": {
        "en": "Must be at most {max_length} characters.",
        "zh": "最多 {max_length} 个字符。",
    },
    "not_one_of": {
        "en": "Must be one of: {choices}.",
        "zh": "必须是以下之一：{choices}。",
    },
    "out_of_range": {
        "en": "Must be between {min} and {max}.",
        "zh": "必须在 {min} 到 {max} 之间。",
    },
    "below_min": {"en": "Must be at least {min}.", "zh": "不能小于 {min}。"},
    "above_max": {"en": "Must be at most {max}.", "zh": "不能大于 {max}。"},
    "invalid_int": {"en": "Must be a whole number.", "zh": "必须为整数。"},
    "invalid_email": {
        "en": "Must be a valid email address.",
        "zh": "邮箱地址格式不正确。",
    },
    "invalid_date": {
        "en": "Must be a date in the form YYYY-MM-DD.",
        "zh": "日期格式应为 YYYY-MM-DD。",
    },
    "invalid_datetime": {
        "en": "Must be a date and time in the form YYYY-MM-DDTHH:MM.",
        "zh": "日期时间格式应为 YYYY-MM-DDTHH:MM。",
    },
    "invalid_bool": {"en": "Must be true or false.", "zh": "必须为“是”或“否”。"},
    "invalid_list": {"en": "Must be a list of rows.", "zh": "必须为若干行组成的列表。"},
    "too_many_rows": {"en": "At most {max_rows} rows.", "zh": "最多 {max_rows} 行。"},
    "invalid_row": {"en": "Each row must be an object.", "zh": "每一行必须为对象。"},
    "row": {
        "en": "Row {row}, {column}: {message}",
        "zh": "第 {row} 行，{column}：{message}",
    },
    "row_only": {"en": "Row {row}: {message}", "zh": "第 {row} 行：{message}"},
    "not_a_member": {
        "en": "{username} is not an active member of {group}.",
        "zh": "{username} 不是{group}的在岗成员。",
    },
    "unknown_field": {"en": 'Unknown field "{field}".', "zh": "未知字段“{field}”。"},
    "invalid_type": {
        "en": "The form data must be an object of field values.",
        "zh": "表单数据必须为字段值组成的对象。",
    },
}


def language(locale: str | None) -> Language:
    """Map a locale such as ``zh_CN``, ``zh-Hans`` or ``en_US`` to the catalogue language."""
    if locale and locale.strip().lower().startswith("zh"):
        return "zh"
    return "en"


def listing(items: Iterable[str], locale: str | None) -> str:
    """Items as a list reads in ``locale``'s language: 电话、传真 or Phone, Fax."""
    return ("、" if language(locale) == "zh" else ", ").join(items)


def message(code: str, locale: str | None, **params: object) -> str:
    """Return the text for ``code`` in ``locale``; unknown codes pass through unchanged."""
    texts = CATALOGUE.get(code)
    if texts is None:
        return code
    return texts[language(locale)].format(**params)
