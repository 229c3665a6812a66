"""Forms of 第三方服务 (third-party service) only."""
from __future__ import annotations

from typing import Final

from forms.catalogue.common import RESOLVED
from forms.definition import FormDefinition
from forms.model import Field

DEFINITIONS: Final = (
    FormDefinition(
        "contact_vendor",
        "联系第三方供应商",
        "Contact the third-party vendor",
        (
            Field(
                "vendor",
                "string",
                required=True,
                label_zh="供应商",
                label_en="Vendor",
                help_zh="联系的第三方供应商。",
                help_en="The third-party vendor contacted.",
            ),
            Field(
                "ticket_no",
                "string",
                label_zh="厂商工单号",
                label_en="Vendor ticket number",
                help_zh="供应商为本事件开的工单号。",
                help_en="The vendor's own ticket number for this case.",
            ),
        ),
    ),
    FormDefinition(
        "vendor_support",
        "厂商技术支持",
        "Vendor technical support",
        (
            Field(
                "solution",
                "text",
                required=True,
                label_zh="解决方案",
                label_en="Solution",
                help_zh="厂商给出的解决方案。",
                help_en="The solution the vendor provided.",
            ),
        ),
    ),
    # `resolved` as in every resolution form: the gateway reads it and the case takes its resolution time from it.
    FormDefinition(
        "verify_vendor_solution",
        "实施并验证厂商方案",
        "Apply and verify the vendor's solution",
        (
            RESOLVED,
            Field(
                "actions",
                "text",
                required=True,
                label_zh="实施过程",
                label_en="How it was applied",
                help_zh="如何实施厂商给出的解决方案。",
                help_en="How the vendor's solution was applied.",
            ),
            Field(
                "verification",
                "text",
                required=True,
                label_zh="验证结果",
                label_en="Verification",
                help_zh="如何验证以及验证的结果（如业务是否恢复、用户是否确认）。",
                help_en="How the result was checked and what it showed (service restored, customer confirmed).",
            ),
        ),
    ),
)
