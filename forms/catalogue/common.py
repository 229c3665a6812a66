"""Choices and fields several forms use, declared once so one form cannot drift from another.

Field ids follow /work/shared/spec/forms.md: reports, gateway conditions and the API read them.
"""
from __future__ import annotations

from typing import Final

from forms.model import Choice, Field

# --- shared choices ----------------------------------------------------------------------------

CHANNEL_CHOICES: Final = (
    Choice("phone", "电话", "Phone"),
    Choice("fax", "传真", "Fax"),
    Choice("web", "网站", "Website"),
    Choice("email", "邮件", "Email"),
    Choice("monitoring", "监控告警", "Monitoring alert"),
    Choice("complaint", "投诉", "Complaint"),  # starts the complaint flow too (engine.desk.complaint)
)
CUSTOMER_TYPE_CHOICES: Final = (
    Choice("government", "政府", "Government"),
    Choice("education", "教育", "Education"),
    Choice("medical", "医疗", "Healthcare"),
    Choice("enterprise", "企业", "Enterprise"),
    Choice("internal", "母公司", "Parent company"),
)
BUSINESS_LINE_CHOICES: Final = (
    Choice("video_surveillance", "视频监控", "Video surveillance"),
    Choice("call_center", "呼叫中心", "Call centre"),
    Choice("software_platform", "软件平台", "Software platform"),
    Choice("network_maintenance", "网络维护", "Network maintenance"),
    Choice("other", "其他", "Other"),
)
DEVICE_TYPE_CHOICES: Final = (
    Choice("host", "主机", "Host"),
    Choice("power", "电源", "Power supply"),
    Choice("storage", "存储", "Storage"),
    Choice("memory", "内存", "Memory"),
    Choice("dvr", "硬盘录像机", "Digital video recorder"),
    Choice("camera", "前端摄像头", "Camera"),
    Choice("call_seat", "话务座席", "Call-centre seat"),
    Choice("mas_terminal", "MAS终端", "MAS terminal"),
    Choice("network", "网络设备", "Network device"),
    Choice("software", "软件", "Software"),
    Choice("other", "其他", "Other"),
)
URGENCY_CHOICES: Final = (
    Choice("high", "高", "High"),
    Choice("medium", "中", "Medium"),
    Choice("low", "低", "Low"),
)
CATEGORY_CHOICES: Final = (
    Choice("consultation", "咨询", "Consultation"),
    Choice("fault", "故障", "Fault"),
    Choice("service_request", "服务请求", "Service request"),
    Choice("complaint", "投诉", "Complaint"),
)
FAULT_LEVEL_CHOICES: Final = (
    Choice("I", "I 级", "Level I"),
    Choice("II", "II 级", "Level II"),
    Choice("III", "III 级", "Level III"),
    Choice("IV", "IV 级", "Level IV"),
)
METHOD_CHOICES: Final = (
    Choice("phone", "电话", "Phone"),
    Choice("email", "邮件", "Email"),
    Choice("remote", "远程", "Remote"),
    Choice("onsite", "现场", "On site"),
    Choice("vendor", "第三方厂商", "Vendor"),
)
GROUP_CHOICES: Final = (
    Choice("requester", "用户", "Requester"),
    Choice("service_desk", "服务台", "Service desk"),
    Choice("engineer", "技术支持/工程师", "Engineer"),
    Choice("service_manager", "服务经理", "Service manager"),
    Choice("resident_manager", "驻厂经理", "Resident manager"),
    Choice("project_manager", "项目经理", "Project manager"),
    Choice("general_manager", "总经理", "General manager"),
    Choice("vendor", "第三方工程师/厂商技术支持", "Vendor engineer"),
    Choice("tech_lead", "技术负责人", "Technical lead"),
    Choice("dept_lead", "部门领导", "Department lead"),
    Choice("company_lead", "公司领导", "Company lead"),
    Choice("report_reviewer", "研发中心和工程部", "R&D centre and engineering"),
    Choice("quality_admin", "质量管理员", "Quality administrator"),
    Choice("process_owner", "流程负责人", "Process owner"),
    Choice("auditor", "审计员", "Auditor"),
)
# Handing a case "up" to the requester would only hand it back, and auditors never act; every other group
# can take it (服务支持 is offered to the group chosen).
ESCALATION_GROUP_CHOICES: Final = tuple(choice for choice in GROUP_CHOICES
                                        if choice.value not in ("requester", "auditor"))
# How the service desk answered a question itself.
FIRST_LINE_METHOD_CHOICES: Final = (
    Choice("phone", "电话", "Phone"),
    Choice("email", "邮件", "Email"),
    Choice("web", "网站", "Website"),
    Choice("onsite_desk", "服务台当面", "At the desk"),
)
PROBLEM_KIND_CHOICES: Final = (
    Choice("consultation", "咨询", "Consultation"),
    Choice("defect", "缺陷", "Defect"),
)
PROBLEM_TYPE_CHOICES: Final = (
    Choice("technical", "技术问题", "Technical"),
    Choice("business", "业务问题", "Business"),
    Choice("operation", "操作问题", "Operation"),
)
ADJUSTMENT_KIND_CHOICES: Final = (
    Choice("defect", "缺陷修复", "Defect"),
    Choice("ambiguous", "需求不明确", "Ambiguous requirement"),
    Choice("new", "新需求", "New requirement"),
)

# --- shared fields -----------------------------------------------------------------------------

FAULT_LEVEL: Final = Field(
    "fault_level",
    "enum",
    required=True,
    choices=FAULT_LEVEL_CHOICES,
    label_zh="故障级别",
    label_en="Fault level",
    help_zh="按 SLA 表确定的故障级别，I 级最严重。",
    help_en="Severity from the SLA table; level I is the most severe.",
)
DEVICE_TYPE: Final = Field(
    "device_type",
    "enum",
    choices=DEVICE_TYPE_CHOICES,
    label_zh="设备类型",
    label_en="Device type",
    help_zh="系统/设备所属的设备类型。",
    help_en="The kind of device involved.",
)
# The request's customer type and business line (forms/catalogue/shared.py declares the same two in its
# request form), which reports are also archived by (seed 002).
CUSTOMER_TYPE: Final = Field(
    "customer_type",
    "enum",
    choices=CUSTOMER_TYPE_CHOICES,
    label_zh="客户类型",
    label_en="Customer type",
    help_zh="客户所属的行业类别。",
    help_en="The sector the customer belongs to.",
)
BUSINESS_LINE: Final = Field(
    "business_line",
    "enum",
    choices=BUSINESS_LINE_CHOICES,
    label_zh="业务",
    label_en="Business line",
    help_zh="需求涉及的业务。",
    help_en="The line of business the request concerns.",
)
RESOLVED: Final = Field(
    "resolved",
    "bool",
    required=True,
    label_zh="是否解决",
    label_en="Resolved",
    help_zh="问题是否已经解决。",
    help_en="Whether the problem is now solved.",
)

RESOLUTION_FIELDS: Final = (
    RESOLVED,
    Field(
        "method",
        "enum",
        required=True,
        choices=METHOD_CHOICES,
        label_zh="处理方式",
        label_en="Method",
        help_zh="本次处理采用的方式。",
        help_en="How the case was handled this time.",
    ),
    Field(
        "actions",
        "text",
        required=True,
        label_zh="处理过程",
        label_en="Actions taken",
        help_zh="按先后顺序记录所做的操作。",
        help_en="What was done, in order.",
    ),
    Field(
        "cause",
        "text",
        label_zh="故障原因",
        label_en="Cause",
        help_zh="已查明的故障原因。",
        help_en="The cause of the fault, if found.",
    ),
    Field(
        "solution_id",
        "string",
        label_zh="解决方案",
        label_en="Solution",
        help_zh="知识库中对应解决方案的编号。",
        help_en="Id of the knowledge-base solution that applies, if any.",
    ),
    Field(
        "parts_used",
        "parts_list",
        label_zh="使用备件",
        label_en="Parts used",
        help_zh="更换或消耗的备件及数量。",
        help_en="Spare parts replaced or used up, with quantities.",
    ),
    Field(
        "duration_min",
        "int",
        min=0,
        label_zh="处理时长（分钟）",
        label_en="Duration (minutes)",
        help_zh="处理所用的时间，单位为分钟。",
        help_en="Time spent on the case, in minutes.",
    ),
)

SERVICE_RECORD_FIELDS: Final = (
    Field(
        "work_done",
        "text",
        required=True,
        label_zh="工作内容",
        label_en="Work done",
        help_zh="在现场完成的工作。",
        help_en="What was done on site.",
    ),
    Field(
        "customer_confirmed",
        "bool",
        required=True,
        label_zh="客户确认",
        label_en="Customer confirmed",
        help_zh="客户是否已确认服务结果。",
        help_en="Whether the customer confirmed the result of the visit.",
    ),
    Field(
        "customer_comment",
        "text",
        label_zh="客户意见",
        label_en="Customer comment",
        help_zh="客户对本次服务的意见。",
        help_en="What the customer said about the visit.",
    ),
)
