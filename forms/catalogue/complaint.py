"""Forms of 投诉处理 (the complaint flow, seed 000 第二篇: 督促/投诉, 投诉回访制度): how the complaint came in,
the first-responsible person named, what was done, and the callback until the customer is satisfied.

The complaint flow is started by the engine (engine.desk.complaint), never from a page, with `complaint_start`.
"""
from __future__ import annotations

from typing import Final

from forms.definition import FormDefinition
from forms.model import STAFF, Choice, Field

REASON_CHOICES: Final = (
    Choice("chases", "三次督促", "Chased three times"),
    Choice("channel", "投诉渠道", "Complaint channel"),
    Choice("category", "事件分类为投诉", "Classified as a complaint"),
)

DEFINITIONS: Final = (
    FormDefinition(
        "complaint_start",
        "投诉登记",
        "Complaint registered",
        (
            Field(
                "request_id",
                "int",
                required=True,
                min=1,
                label_zh="原服务请求",
                label_en="Original request",
                help_zh="被投诉的服务请求编号。",
                help_en="Number of the request the complaint is about.",
            ),
            Field(
                "reason",
                "enum",
                required=True,
                choices=REASON_CHOICES,
                label_zh="投诉来源",
                label_en="Raised by",
                help_zh="请求如何成为投诉。",
                help_en="How the request became a complaint.",
            ),
            Field(
                "title",
                "string",
                required=True,
                label_zh="标题",
                label_en="Title",
                help_zh="投诉的标题。",
                help_en="Title of the complaint.",
            ),
            Field(
                "summary",
                "text",
                label_zh="投诉内容",
                label_en="Complaint",
                help_zh="客户督促或投诉时说的话。",
                help_en="What the customer said when chasing or complaining.",
            ),
        ),
    ),
    FormDefinition(
        "complaint_responsible",
        "确定第一责任人",
        "Name the first-responsible person",
        (
            # A user picker of the active staff (engine.desk.pickers); the engine refuses anyone else.
            Field(
                "first_responsible",
                "user",
                required=True,
                group=STAFF,
                label_zh="第一责任人",
                label_en="First-responsible person",
                help_zh="对被投诉的服务负首要责任的人员（账号）。",
                help_en="The staff member first responsible for the service complained about (user name).",
            ),
            Field(
                "finding",
                "text",
                required=True,
                label_zh="核实情况",
                label_en="Finding",
                help_zh="核实投诉得到的情况。",
                help_en="What checking the complaint found.",
            ),
        ),
    ),
    FormDefinition(
        "complaint_handling",
        "投诉处理",
        "Handle the complaint",
        (
            Field(
                "actions",
                "text",
                required=True,
                label_zh="处理过程",
                label_en="Actions taken",
                help_zh="为处理投诉所做的工作，按先后顺序。",
                help_en="What was done about the complaint, in order.",
            ),
            Field(
                "cause",
                "text",
                label_zh="投诉原因",
                label_en="Cause",
                help_zh="导致投诉的原因。",
                help_en="What led to the complaint.",
            ),
        ),
    ),
    FormDefinition(
        "complaint_callback",
        "投诉回访",
        "Complaint callback",
        (
            Field(
                "satisfied",
                "bool",
                required=True,
                label_zh="客户是否满意",
                label_en="Customer satisfied",
                help_zh="回访时客户对处理结果是否满意；不满意则重新处理。",
                help_en="Whether the customer is satisfied with the handling; if not, it is handled again.",
            ),
            Field(
                "customer_comment",
                "text",
                label_zh="客户意见",
                label_en="Customer comment",
                help_zh="回访时客户的意见。",
                help_en="What the customer said on the callback.",
            ),
        ),
    ),
)
