"""Forms of 服务报告 (seed 002 服务报告管理程序): the report's start, the project manager's commentary, the
review by 研发中心和工程部 (and its manager in special cases), archiving by the 服务台, and the quarterly
customer callback on an archived report."""
from __future__ import annotations

from typing import Final

from forms.catalogue.common import BUSINESS_LINE, CUSTOMER_TYPE, DEVICE_TYPE
from forms.definition import FormDefinition
from forms.model import Choice, Field

REPORT_CLASS_CHOICES: Final = (
    Choice("regular", "定期运维报告", "Regular operations report"),
    Choice("inspection", "巡检报告", "Inspection report"),
    Choice("resident", "驻点人员服务报告", "Resident staff service report"),
    Choice("major_event", "重大事件保障报告", "Major event support report"),
    Choice("expiry_summary", "运维到期总结报告", "End-of-contract summary report"),
)
REVIEW_DECISION_CHOICES: Final = (
    Choice("approve", "通过", "Approve"),
    Choice("send_back", "退回修改", "Send back for changes"),
    Choice("special", "特殊情况，提交经理审核", "Special case: to the manager"),
)
MANAGER_DECISION_CHOICES: Final = REVIEW_DECISION_CHOICES[:2]  # approve or send back: no one above to pass to

REPORT_ID: Final = Field(
    "report_id",
    "int",
    required=True,
    min=1,
    label_zh="报告编号",
    label_en="Report no.",
    help_zh="服务报告的编号。",
    help_en="Number of the service report.",
)
COMMENT: Final = Field(
    "comment",
    "text",
    label_zh="审核意见",
    label_en="Comments",
    help_zh="退回或提交经理审核时必填，说明原因。",
    help_en="Required when sending back or passing to the manager: say why.",
)
DEFINITIONS: Final = (
    FormDefinition(
        "report_start",
        "生成服务报告",
        "Generate a service report",
        (
            REPORT_ID,
            Field(
                "title",
                "string",
                required=True,
                label_zh="标题",
                label_en="Title",
                help_zh="报告标题，含报告类别和期间。",
                help_en="The report's title, with its class and period.",
            ),
            Field(
                "report_class",
                "enum",
                required=True,
                choices=REPORT_CLASS_CHOICES,
                label_zh="报告类别",
                label_en="Report class",
                help_zh="定期运维、巡检、驻点人员服务、重大事件保障或运维到期总结报告。",
                help_en="Regular, inspection, resident staff, major event or end-of-contract report.",
            ),
            Field(
                "due_at",
                "datetime",
                label_zh="应交时间",
                label_en="Due",
                help_zh="报告应审核归档完毕的时间。",
                help_en="When the report is to be reviewed and archived.",
            ),
        ),
    ),
    FormDefinition(
        "report_commentary",
        "撰写报告评述",
        "Write the report commentary",
        (
            Field(
                "commentary",
                "text",
                required=True,
                label_zh="分析与评述",
                label_en="Analysis and commentary",
                help_zh="对生成的数据作分析：SLA 达成、违约原因、趋势、纠正和预防措施、后续计划。",
                help_en="Analyse the generated figures: SLA performance, breaches, trends, corrective and "
                        "preventive actions, plans.",
            ),
            Field(
                "late_reason",
                "text",
                label_zh="逾期说明",
                label_en="Reason for lateness",
                help_zh="报告逾期上交时，说明原因（已与研发中心和工程部沟通）。",
                help_en="If the report is late, why (as agreed with R&D and engineering).",
            ),
        ),
    ),
    FormDefinition(
        "report_review",
        "审核服务报告",
        "Review a service report",
        (
            Field(
                "decision",
                "enum",
                required=True,
                choices=REVIEW_DECISION_CHOICES,
                label_zh="审核结论",
                label_en="Decision",
                help_zh="格式正确、内容完整、按时完成、客户关心的信息清楚、用语易懂、客户满意则通过。",
                help_en="Approve when the format is right, the content complete and on time, what the "
                        "customer cares about is clear, the wording plain and the customer satisfied.",
            ),
            COMMENT,
        ),
    ),
    FormDefinition(
        "report_manager_review",
        "经理审核服务报告",
        "Manager's review of a service report",
        (
            Field(
                "decision",
                "enum",
                required=True,
                choices=MANAGER_DECISION_CHOICES,
                label_zh="审核结论",
                label_en="Decision",
                help_zh="研发中心和工程部经理对特殊情况报告的结论。",
                help_en="The R&D and engineering manager's decision on a special case.",
            ),
            COMMENT,
        ),
    ),
    FormDefinition(
        "report_archive",
        "服务报告归档",
        "Archive a service report",
        (
            DEVICE_TYPE,
            CUSTOMER_TYPE,
            BUSINESS_LINE,
            Field(
                "archive_note",
                "text",
                label_zh="归档说明",
                label_en="Archive note",
                help_zh="归档册号或其他说明。",
                help_en="Binder number or other notes.",
            ),
        ),
    ),
    FormDefinition(
        "report_callback_start",
        "抽取回访报告",
        "Report drawn for a callback",
        (
            REPORT_ID,
            Field(
                "quarter",
                "string",
                required=True,
                label_zh="季度",
                label_en="Quarter",
                help_zh="抽查的季度，例如 2026Q4。",
                help_en="The quarter sampled, e.g. 2026Q4.",
            ),
        ),
    ),
    FormDefinition(
        "report_callback",
        "服务报告客户回访",
        "Customer callback on a service report",
        (
            Field(
                "reached",
                "bool",
                required=True,
                label_zh="已联系到客户",
                label_en="Customer reached",
                help_zh="是否联系到客户负责人。",
                help_en="Whether the customer's contact was reached.",
            ),
            Field(
                "score",
                "int",
                min=1,
                max=5,
                label_zh="满意度（1-5）",
                label_en="Satisfaction (1-5)",
                help_zh="客户对服务报告的满意程度，5 为非常满意。",
                help_en="How satisfied the customer is with the report; 5 is very satisfied.",
            ),
            Field(
                "note",
                "text",
                label_zh="回访记录",
                label_en="Callback notes",
                help_zh="客户的意见和建议。",
                help_en="The customer's comments and suggestions.",
            ),
        ),
    ),
)
