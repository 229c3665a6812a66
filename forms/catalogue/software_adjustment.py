"""Forms of 软件调整 (software adjustment) only."""
from __future__ import annotations

from typing import Final

from forms.catalogue.common import ADJUSTMENT_KIND_CHOICES
from forms.definition import FormDefinition
from forms.model import Field

DEFINITIONS: Final = (
    FormDefinition(
        "adjustment_request",
        "软件调整申请",
        "Software adjustment request",
        (
            Field(
                "kind",
                "enum",
                required=True,
                choices=ADJUSTMENT_KIND_CHOICES,
                label_zh="调整类型",
                label_en="Kind",
                help_zh="缺陷修复、需求不明确或新需求。",
                help_en="A defect fix, an ambiguous requirement or a new requirement.",
            ),
            Field(
                "estimate_days",
                "int",
                required=True,
                min=0,
                label_zh="预计工作日",
                label_en="Estimated working days",
                help_zh="预计需要的工作日数；超过 10 天需公司领导审批。",
                help_en="Working days needed; more than 10 needs company-lead approval.",
            ),
            Field(
                "description",
                "text",
                required=True,
                label_zh="调整说明",
                label_en="Description",
                help_zh="需要调整的内容和原因。",
                help_en="What should change and why.",
            ),
        ),
    ),
    FormDefinition(
        "adjustment_approval",
        "软件调整审批",
        "Software adjustment approval",
        (
            Field(
                "approved",
                "bool",
                required=True,
                label_zh="是否批准",
                label_en="Approved",
                help_zh="是否批准本次调整。",
                help_en="Whether the adjustment is approved.",
            ),
            Field(
                "comment",
                "text",
                label_zh="审批意见",
                label_en="Comment",
                help_zh="审批意见或不批准的原因。",
                help_en="Remarks, or why it was not approved.",
            ),
        ),
    ),
)
