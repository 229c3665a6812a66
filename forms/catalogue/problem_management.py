"""Forms of 问题管理 (problem management) only."""
from __future__ import annotations

from typing import Final

from forms.catalogue.common import PROBLEM_KIND_CHOICES, PROBLEM_TYPE_CHOICES
from forms.definition import FormDefinition
from forms.model import Field

DEFINITIONS: Final = (
    FormDefinition(
        "problem_submit",
        "问题提交",
        "Submit a problem",
        (
            Field(
                "kind",
                "enum",
                required=True,
                choices=PROBLEM_KIND_CHOICES,
                label_zh="问题类型",
                label_en="Kind",
                help_zh="咨询类问题或缺陷。",
                help_en="A question or a defect.",
            ),
            Field(
                "description",
                "text",
                required=True,
                label_zh="问题描述",
                label_en="Description",
                help_zh="问题的详细描述。",
                help_en="The problem in detail.",
            ),
            Field(
                "attachments",
                "text",
                label_zh="附件",
                label_en="Attachments",
                help_zh="附件的链接或说明。",
                help_en="Links to, or notes about, attached files.",
            ),
        ),
    ),
    FormDefinition(
        "consultation_record",
        "咨询记录",
        "Consultation record",
        (
            Field(
                "question",
                "text",
                required=True,
                label_zh="咨询问题",
                label_en="Question",
                help_zh="用户咨询的问题。",
                help_en="What the requester asked.",
            ),
            Field(
                "answer",
                "text",
                required=True,
                label_zh="答复",
                label_en="Answer",
                help_zh="给用户的答复。",
                help_en="The answer given.",
            ),
        ),
    ),
    FormDefinition(
        "problem_analyse",
        "问题分析",
        "Problem analysis",
        (
            Field(
                "problem_type",
                "enum",
                required=True,
                choices=PROBLEM_TYPE_CHOICES,
                label_zh="问题性质",
                label_en="Problem type",
                help_zh="技术、业务还是操作问题。",
                help_en="Whether it is a technical, business or operation problem.",
            ),
            Field(
                "analysis",
                "text",
                required=True,
                label_zh="分析",
                label_en="Analysis",
                help_zh="对问题的分析。",
                help_en="Analysis of the problem.",
            ),
        ),
    ),
    FormDefinition(
        "explain_and_convert",
        "解释与转化",
        "Explain and convert",
        (
            Field(
                "explanation",
                "text",
                required=True,
                label_zh="解释说明",
                label_en="Explanation",
                help_zh="向用户解释的正确操作方法。",
                help_en="How the correct way of operating was explained to the requester.",
            ),
        ),
    ),
    FormDefinition(
        "problem_confirm",
        "确认",
        "Confirm the proposal",
        (
            Field(
                "proposal",
                "text",
                required=True,
                label_zh="处理方案",
                label_en="Proposal",
                help_zh="拟采取的处理方案。",
                help_en="The proposed way to deal with the problem.",
            ),
            Field(
                "supervisor_approved",
                "bool",
                required=True,
                label_zh="主管批准",
                label_en="Supervisor approved",
                help_zh="主管是否批准该方案。",
                help_en="Whether the supervisor approved the proposal.",
            ),
        ),
    ),
    FormDefinition(
        "problem_report",
        "问题报告",
        "Problem report",
        (
            Field(
                "summary",
                "text",
                required=True,
                label_zh="问题总结",
                label_en="Summary",
                help_zh="问题及其处理的总结。",
                help_en="Summary of the problem and how it was dealt with.",
            ),
        ),
    ),
    FormDefinition(
        "problem_reply",
        "问题答复",
        "Problem reply",
        (
            Field(
                "reply",
                "text",
                required=True,
                label_zh="答复内容",
                label_en="Reply",
                help_zh="给提交人的答复。",
                help_en="The reply to whoever submitted the problem.",
            ),
            Field(
                "root_cause",
                "text",
                label_zh="根本原因",
                label_en="Root cause",
                help_zh="问题的根本原因。",
                help_en="The underlying cause of the problem.",
            ),
            Field(
                "change_record",
                "text",
                label_zh="变更记录",
                label_en="Change record",
                help_zh="相关的变更记录或版本说明。",
                help_en="Related change records or release notes.",
            ),
        ),
    ),
)
