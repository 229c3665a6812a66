"""Forms of 服务台及现场服务 (service desk and on-site service) only."""
from __future__ import annotations

from typing import Final

from forms.catalogue.common import ESCALATION_GROUP_CHOICES, FIRST_LINE_METHOD_CHOICES
from forms.definition import FormDefinition
from forms.model import Field

DEFINITIONS: Final = (
    # 咨询 and simple service requests the service desk resolves itself (first-line resolution).
    FormDefinition(
        "first_line_answer",
        "服务台直接解答",
        "Answered by the service desk",
        (
            Field(
                "answer",
                "text",
                required=True,
                label_zh="解答内容",
                label_en="Answer",
                help_zh="给用户的解答或已完成的简单服务。",
                help_en="The answer given to the requester, or the simple service done.",
            ),
            Field(
                "method",
                "enum",
                required=True,
                choices=FIRST_LINE_METHOD_CHOICES,
                label_zh="解答方式",
                label_en="Method",
                help_zh="通过什么方式解答。",
                help_en="How the answer was given.",
            ),
            Field(
                "resolved",
                "bool",
                required=True,
                label_zh="是否解决",
                label_en="Resolved",
                help_zh="未解决时转技术支持远程处理。",
                help_en="If not, it goes on to the engineers' remote handling.",
            ),
            Field(
                "solution_id",
                "string",
                label_zh="解决方案",
                label_en="Solution",
                help_zh="知识库中采用的解决方案编号（选填）。",
                help_en="The knowledge-base solution used, if any.",
            ),
        ),
    ),
    FormDefinition(
        "dispatch_onsite",
        "派发现场服务单",
        "Dispatch on-site service",
        (
            Field(
                "engineer",
                "user",
                required=True,
                group="engineer",
                label_zh="工程师",
                label_en="Engineer",
                help_zh="前往现场的工程师（技术支持组成员）；现场服务将指派给他。",
                help_en="The engineer going on site (a member of the engineer group); the on-site task is assigned "
                        "to them.",
            ),
            Field(
                "appointment_at",
                "datetime",
                required=True,
                label_zh="预约时间",
                label_en="Appointment",
                help_zh="与客户约定的到场日期和时间。",
                help_en="Date and time agreed with the customer for the visit.",
            ),
            Field(
                "address",
                "string",
                required=True,
                label_zh="现场地址",
                label_en="Site address",
                help_zh="服务现场的详细地址。",
                help_en="Full address of the site.",
            ),
        ),
    ),
    FormDefinition(
        "escalate",
        "服务升级",
        "Escalate",
        (
            Field(
                "reason",
                "text",
                required=True,
                label_zh="升级原因",
                label_en="Reason",
                help_zh="为什么需要升级处理。",
                help_en="Why the case needs escalating.",
            ),
            Field(
                "escalated_to_group",
                "enum",
                required=True,
                choices=ESCALATION_GROUP_CHOICES,
                label_zh="升级至",
                label_en="Escalate to",
                help_zh="接手处理的组。",
                help_en="The group that takes the case over.",
            ),
        ),
    ),
    FormDefinition(
        "root_cause",
        "原因调查及诊断",
        "Root-cause investigation",
        (
            Field(
                "cause",
                "text",
                required=True,
                label_zh="根本原因",
                label_en="Root cause",
                help_zh="调查确定的根本原因。",
                help_en="The underlying cause the investigation found.",
            ),
            Field(
                "corrective_action",
                "text",
                required=True,
                label_zh="纠正措施",
                label_en="Corrective action",
                help_zh="消除本次问题的措施。",
                help_en="What fixes this occurrence.",
            ),
            Field(
                "preventive_action",
                "text",
                label_zh="预防措施",
                label_en="Preventive action",
                help_zh="防止问题再次发生的措施。",
                help_en="What stops it from happening again.",
            ),
        ),
    ),
)
