"""Forms of 其他服务 (other services) only."""
from __future__ import annotations

from typing import Final

from forms.definition import FormDefinition
from forms.model import Field

DEFINITIONS: Final = (
    FormDefinition(
        "record_analyse",
        "记录和分析用户需求",
        "Record and analyse the need",
        (
            Field(
                "need",
                "text",
                required=True,
                label_zh="用户需求",
                label_en="Need",
                help_zh="用户提出的具体需求。",
                help_en="What exactly the requester needs.",
            ),
            Field(
                "analysis",
                "text",
                required=True,
                label_zh="需求分析",
                label_en="Analysis",
                help_zh="对需求的分析和判断。",
                help_en="Assessment of the need.",
            ),
        ),
    ),
    FormDefinition(
        "onsite_check",
        "工程师现场检测与处理",
        "On-site inspection",
        (
            Field(
                "findings",
                "text",
                required=True,
                label_zh="检测结果",
                label_en="Findings",
                help_zh="现场检测与处理的结果。",
                help_en="What the on-site inspection found and did.",
            ),
        ),
    ),
    FormDefinition(
        "feasible_plan",
        "提供可行性方案",
        "Feasible plan",
        (
            Field(
                "plan",
                "text",
                required=True,
                label_zh="方案",
                label_en="Plan",
                help_zh="可行的实施方案。",
                help_en="The proposed way to meet the need.",
            ),
            Field(
                "risks",
                "text",
                label_zh="风险",
                label_en="Risks",
                help_zh="实施方案的风险。",
                help_en="Risks of carrying out the plan.",
            ),
            Field(
                "rollback",
                "text",
                label_zh="回退方案",
                label_en="Rollback plan",
                help_zh="方案失败时如何恢复原状。",
                help_en="How to restore the previous state if the plan fails.",
            ),
        ),
    ),
    FormDefinition(
        "ask_permission",
        "征求用户允许",
        "Ask for the customer's permission",
        (
            Field(
                "request_text",
                "text",
                required=True,
                label_zh="征询内容",
                label_en="Request",
                help_zh="向用户说明方案并征求同意的内容。",
                help_en="What the customer is told about the plan and asked to allow.",
            ),
        ),
    ),
    FormDefinition(
        "customer_permission",
        "用户需求负责人允许",
        "Customer permission",
        (
            Field(
                "permitted",
                "bool",
                required=True,
                label_zh="是否允许",
                label_en="Permitted",
                help_zh="用户需求负责人是否允许执行方案。",
                help_en="Whether the customer's owner of the need allows the plan.",
            ),
            Field(
                "conditions",
                "text",
                label_zh="附加条件",
                label_en="Conditions",
                help_zh="允许执行时附加的条件。",
                help_en="Conditions attached to the permission.",
            ),
        ),
    ),
)
