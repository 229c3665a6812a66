"""Knowledge-base forms (seed 003 第2篇): a solution as written, and the steps of its review
(the `knowledge_review` process: submit, 技术负责人 review, the author's revision)."""

from __future__ import annotations

from typing import Final

from forms.catalogue.common import DEVICE_TYPE
from forms.definition import FormDefinition
from forms.model import Choice, Field

KIND_CHOICES: Final = (
    Choice("policy", "制度流程", "Rules and procedures"),
    Choice("solution", "解决方案", "Solution"),
    Choice("change", "变更方案", "Change plan"),
    Choice("test", "测试方案", "Test plan"),
    Choice("technical", "技术方案", "Technical plan"),
    Choice("reference", "技术参考资料", "Technical reference"),
)
DECISION_CHOICES: Final = (
    Choice("approve", "通过", "Approve"),
    Choice("send_back", "退回修改", "Send back for changes"),
    Choice("reject", "驳回", "Reject"),
)

SOLUTION_ID: Final = Field(
    "solution_id",
    "int",
    required=True,
    min=1,
    label_zh="解决方案编号",
    label_en="Solution no.",
    help_zh="知识库中解决方案的编号。",
    help_en="Number of the solution in the knowledge base.",
)

DEFINITIONS: Final = (
    FormDefinition(
        "solution",
        "解决方案",
        "Solution",
        (
            Field(
                "title",
                "string",
                required=True,
                label_zh="标题",
                label_en="Title",
                help_zh="一句话说明适用的故障或问题，例如“HIS 数据库连接超时”。",
                help_en="One line naming the fault it solves, e.g. “HIS database connection timeout”.",
            ),
            Field(
                "kind",
                "enum",
                required=True,
                choices=KIND_CHOICES,
                label_zh="知识类别",
                label_en="Kind",
                help_zh="制度流程、解决方案、变更/测试/技术方案或技术参考资料。",
                help_en="Rules, solution, change/test/technical plan, or technical reference.",
            ),
            Field(
                "system",
                "string",
                label_zh="系统/设备",
                label_en="System / device",
                help_zh="适用的系统或设备。",
                help_en="The system or device it applies to.",
            ),
            DEVICE_TYPE,
            Field(
                "category",
                "string",
                label_zh="分类",
                label_en="Category",
                help_zh="例如 硬件、软件、网络、数据库、安全。",
                help_en="For example hardware, software, network, database, security.",
            ),
            Field(
                "symptom",
                "text",
                required=True,
                label_zh="故障现象",
                label_en="Symptom",
                help_zh="用户看到的现象和报错，便于他人检索。",
                help_en="What users see, with the error messages, so others can find it.",
            ),
            Field(
                "cause",
                "text",
                label_zh="故障原因",
                label_en="Cause",
                help_zh="查明的根本原因。",
                help_en="The root cause found.",
            ),
            Field(
                "fix",
                "text",
                required=True,
                label_zh="解决方法",
                label_en="Fix",
                help_zh="按步骤写出处理方法，一线人员照做即可解决。",
                help_en="The steps, so that first-line staff can follow them.",
            ),
        ),
    ),
    FormDefinition(
        "solution_submit",
        "提交解决方案审核",
        "Submit a solution for review",
        (
            SOLUTION_ID,
            Field(
                "version",
                "int",
                required=True,
                min=1,
                label_zh="版本",
                label_en="Version",
                help_zh="提交审核的版本号。",
                help_en="The version submitted for review.",
            ),
            Field(
                "title",
                "string",
                required=True,
                label_zh="标题",
                label_en="Title",
                help_zh="解决方案的标题。",
                help_en="The solution's title.",
            ),
        ),
    ),
    FormDefinition(
        "solution_review",
        "审核解决方案",
        "Review a solution",
        (
            Field(
                "decision",
                "enum",
                required=True,
                choices=DECISION_CHOICES,
                label_zh="审核结论",
                label_en="Decision",
                help_zh="内容审核（是否符合事件）与形式审核（属性设置是否正确）的结论。",
                help_en="Content (does it fit the incident) and form (are the attributes right).",
            ),
            Field(
                "comment",
                "text",
                label_zh="审核意见",
                label_en="Comments",
                help_zh="退回或驳回时必填，说明要改什么或为什么不发布。",
                help_en="Required when sending back or rejecting: what to change, or why it is not published.",
            ),
        ),
    ),
    FormDefinition(
        "solution_revise",
        "修改解决方案",
        "Revise a solution",
        (
            Field(
                "changes",
                "text",
                required=True,
                label_zh="修改说明",
                label_en="Changes made",
                help_zh="按审核意见做了哪些修改（先在知识库编辑器中修改内容）。",
                help_en="What was changed after the review (edit the content in the knowledge-base editor first).",
            ),
        ),
    ),
)
