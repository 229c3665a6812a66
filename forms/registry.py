"""Every form of the seed processes, one `FormDefinition` per form key, and lookup by key.

Field ids follow /work/shared/spec/forms.md: reports, gateway conditions and the API read them.
Pieces used by several forms (the resolution and service-record fields, shared enums) are
declared once and reused, so one form cannot drift from another.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from forms.definition import FormDefinition
from forms.model import Choice, Field, InvalidFormDefinition

# --- shared choices ----------------------------------------------------------------------------

CHANNEL_CHOICES: Final = (
    Choice("phone", "电话", "Phone"),
    Choice("fax", "传真", "Fax"),
    Choice("web", "网站", "Website"),
    Choice("email", "邮件", "Email"),
    Choice("monitoring", "监控告警", "Monitoring alert"),
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
# Handing a case "up" to the requester would only hand it back; every other group can take it.
ESCALATION_GROUP_CHOICES: Final = tuple(choice for choice in GROUP_CHOICES if choice.value != "requester")
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

# --- the forms ---------------------------------------------------------------------------------

_DEFINITIONS: Final = (
    FormDefinition(
        "request",
        "提出服务需求",
        "Service request",
        (
            Field(
                "channel",
                "enum",
                required=True,
                choices=CHANNEL_CHOICES,
                label_zh="受理渠道",
                label_en="Channel",
                help_zh="用户通过什么渠道提出需求。",
                help_en="How the request reached the service desk.",
            ),
            Field(
                "requester_name",
                "string",
                required=True,
                label_zh="联系人",
                label_en="Contact person",
                help_zh="就本需求联系的人员姓名。",
                help_en="Name of the person to contact about this request.",
            ),
            Field(
                "contact_phone",
                "string",
                required=True,
                label_zh="联系电话",
                label_en="Contact phone",
                help_zh="能联系到联系人的电话号码。",
                help_en="Phone number where the contact can be reached.",
            ),
            Field(
                "contact_email",
                "email",
                label_zh="邮箱",
                label_en="Email",
                help_zh="联系人的电子邮箱（选填）。",
                help_en="The contact's email address (optional).",
            ),
            Field(
                "organisation",
                "string",
                required=True,
                label_zh="单位/部门",
                label_en="Organisation / department",
                help_zh="联系人所在的单位或部门。",
                help_en="Organisation or department of the contact.",
            ),
            Field(
                "customer_type",
                "enum",
                choices=CUSTOMER_TYPE_CHOICES,
                label_zh="客户类型",
                label_en="Customer type",
                help_zh="客户所属的行业类别。",
                help_en="The sector the customer belongs to.",
            ),
            Field(
                "business_line",
                "enum",
                choices=BUSINESS_LINE_CHOICES,
                label_zh="业务",
                label_en="Business line",
                help_zh="需求涉及的业务。",
                help_en="The line of business the request concerns.",
            ),
            Field(
                "zone",
                "string",
                label_zh="片区",
                label_en="Zone",
                help_zh="客户所在的服务片区。",
                help_en="The service area the customer is in.",
            ),
            Field(
                "system",
                "string",
                required=True,
                label_zh="系统/设备",
                label_en="System / device",
                help_zh="出现问题或需要服务的系统或设备。",
                help_en="The system or device that needs service.",
            ),
            Field(
                "device_type",
                "enum",
                choices=DEVICE_TYPE_CHOICES,
                label_zh="设备类型",
                label_en="Device type",
                help_zh="系统/设备所属的设备类型。",
                help_en="The kind of device involved.",
            ),
            Field(
                "ci_id",
                "string",
                label_zh="配置项",
                label_en="Configuration item",
                help_zh="配置管理库中的配置项编号（选填）。",
                help_en="Configuration item id in the CMDB, if known.",
            ),
            Field(
                "title",
                "string",
                required=True,
                label_zh="标题",
                label_en="Title",
                help_zh="用一句话概括需求。",
                help_en="One line that sums up the request.",
            ),
            Field(
                "description",
                "text",
                required=True,
                label_zh="问题描述",
                label_en="Description",
                help_zh="描述现象、开始时间和影响。",
                help_en="What happens, since when, and who is affected.",
            ),
            Field(
                "urgency",
                "enum",
                required=True,
                choices=URGENCY_CHOICES,
                label_zh="紧急程度",
                label_en="Urgency",
                help_zh="用户认为的紧急程度。",
                help_en="How urgent the requester considers it.",
            ),
        ),
    ),
    FormDefinition(
        "accept",
        "受理并记录",
        "Accept and record",
        (
            Field(
                "request_confirmed",
                "bool",
                required=True,
                label_zh="需求已确认",
                label_en="Request confirmed",
                help_zh="已与用户核实需求内容。",
                help_en="The request details were checked with the requester.",
            ),
            Field(
                "notes",
                "text",
                label_zh="备注",
                label_en="Notes",
                help_zh="受理时需要记录的补充说明。",
                help_en="Anything worth noting when accepting the request.",
            ),
        ),
    ),
    FormDefinition(
        "classify",
        "事件分类",
        "Classify the event",
        (
            Field(
                "category",
                "enum",
                required=True,
                choices=CATEGORY_CHOICES,
                label_zh="类别",
                label_en="Category",
                help_zh="事件的类别。",
                help_en="What kind of event this is.",
            ),
            FAULT_LEVEL,
            Field(
                "impact",
                "text",
                label_zh="影响范围",
                label_en="Impact",
                help_zh="受影响的用户、业务和地点。",
                help_en="Which users, services and sites are affected.",
            ),
            Field(
                "needs_third_party",
                "bool",
                label_zh="是否需第三方",
                label_en="Needs a third party",
                help_zh="需要第三方供应商处理时选“是”。",
                help_en="Yes when a third-party vendor has to handle it.",
            ),
            Field(
                "out_of_scope",
                "bool",
                label_zh="是否超出服务范围",
                label_en="Outside service scope",
                help_zh="需求超出合同服务范围时选“是”。",
                help_en="Yes when the request is outside the contracted service.",
            ),
        ),
    ),
    FormDefinition("resolution", "处理记录", "Resolution", RESOLUTION_FIELDS),
    FormDefinition(
        "onsite_resolution",
        "现场处理及服务记录",
        "On-site resolution and service record",
        (*RESOLUTION_FIELDS, *SERVICE_RECORD_FIELDS),
    ),
    FormDefinition(
        "dispatch_onsite",
        "派发现场服务单",
        "Dispatch on-site service",
        (
            Field(
                "engineer",
                "string",
                required=True,
                label_zh="工程师",
                label_en="Engineer",
                help_zh="前往现场的工程师（姓名或账号）。",
                help_en="Engineer going on site (name or user name).",
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
        "satisfaction",
        "满意度回访",
        "Satisfaction follow-up",
        (
            Field(
                "score",
                "int",
                required=True,
                min=1,
                max=5,
                label_zh="满意度",
                label_en="Satisfaction",
                help_zh="1 分最不满意，5 分最满意。",
                help_en="1 is very dissatisfied, 5 is very satisfied.",
            ),
            Field(
                "comment",
                "text",
                label_zh="意见",
                label_en="Comment",
                help_zh="用户的意见和建议。",
                help_en="The requester's remarks and suggestions.",
            ),
            Field(
                "remaining_problem",
                "bool",
                required=True,
                label_zh="有无遗留问题",
                label_en="Problem remaining",
                help_zh="用户是否还有未解决的问题。",
                help_en="Whether anything is still unresolved for the requester.",
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
    FormDefinition(
        "analyse_fault",
        "分析故障",
        "Analyse the fault",
        (
            Field(
                "symptom",
                "text",
                required=True,
                label_zh="故障现象",
                label_en="Symptom",
                help_zh="观察到的故障现象。",
                help_en="What is observed.",
            ),
            Field(
                "suspected_cause",
                "text",
                label_zh="可能原因",
                label_en="Suspected cause",
                help_zh="初步判断的故障原因。",
                help_en="First assessment of the cause.",
            ),
            FAULT_LEVEL,
        ),
    ),
    FormDefinition(
        "resident_manager_report",
        "驻厂经理报告",
        "Resident manager report",
        (
            Field(
                "customer_contact",
                "string",
                required=True,
                label_zh="客户联系人",
                label_en="Customer contact",
                help_zh="保持沟通的客户联系人。",
                help_en="The customer's person kept informed.",
            ),
            Field(
                "progress",
                "text",
                required=True,
                label_zh="处理进展",
                label_en="Progress",
                help_zh="目前的处理进展。",
                help_en="Where the handling stands now.",
            ),
            RESOLVED,
        ),
    ),
    FormDefinition(
        "general_manager_report",
        "总经理指示",
        "General manager's instructions",
        (
            Field(
                "instructions",
                "text",
                required=True,
                label_zh="处理指示",
                label_en="Instructions",
                help_zh="总经理对后续处理的指示。",
                help_en="The general manager's instructions for further handling.",
            ),
        ),
    ),
    FormDefinition(
        "record_in_backoffice",
        "录入后台数据库",
        "Record in the back-office database",
        (
            Field(
                "summary",
                "text",
                required=True,
                label_zh="记录摘要",
                label_en="Summary",
                help_zh="录入后台数据库的处理摘要。",
                help_en="Summary of the case entered into the back-office database.",
            ),
        ),
    ),
    FormDefinition(
        "fault_report",
        "故障技术报告",
        "Fault technical report",
        (
            Field(
                "fault_kind",
                "string",
                required=True,
                label_zh="故障类型",
                label_en="Fault type",
                help_zh="故障所属的类型。",
                help_en="What kind of fault it was.",
            ),
            Field(
                "cause",
                "text",
                required=True,
                label_zh="故障原因",
                label_en="Cause",
                help_zh="对故障原因的分析。",
                help_en="Analysis of the cause.",
            ),
            Field(
                "handling_method",
                "text",
                required=True,
                label_zh="处理方法",
                label_en="Handling method",
                help_zh="排除故障所用的方法。",
                help_en="How the fault was cleared.",
            ),
            Field(
                "losses",
                "text",
                label_zh="损失情况",
                label_en="Losses",
                help_zh="故障造成的损失。",
                help_en="Losses the fault caused.",
            ),
            Field(
                "prevention",
                "text",
                label_zh="预防措施",
                label_en="Prevention",
                help_zh="今后如何预防同类故障。",
                help_en="How to prevent similar faults in future.",
            ),
        ),
    ),
    FormDefinition(
        "health_check_start",
        "健康检查",
        "Health check",
        (
            Field(
                "organisation",
                "string",
                required=True,
                label_zh="单位/部门",
                label_en="Organisation / department",
                help_zh="接受健康检查的单位或部门。",
                help_en="Organisation or department whose systems are checked.",
            ),
            Field(
                "contract",
                "string",
                label_zh="合同",
                label_en="Contract",
                help_zh="对应的服务合同编号。",
                help_en="Number of the service contract that covers the check.",
            ),
            Field(
                "scheduled_for",
                "date",
                label_zh="计划日期",
                label_en="Scheduled for",
                help_zh="计划开展健康检查的日期。",
                help_en="Planned date of the health check.",
            ),
        ),
    ),
    FormDefinition(
        "hc_prepare",
        "预备阶段",
        "Preparation",
        (
            Field(
                "customer_contact",
                "string",
                required=True,
                label_zh="客户联系人",
                label_en="Customer contact",
                help_zh="健康检查的客户对接人。",
                help_en="The customer's person coordinating the check.",
            ),
            Field(
                "plan",
                "text",
                required=True,
                label_zh="检查计划",
                label_en="Plan",
                help_zh="检查内容、人员和时间安排。",
                help_en="What will be checked, by whom and when.",
            ),
            Field(
                "device_list",
                "text",
                required=True,
                label_zh="设备清单",
                label_en="Device list",
                help_zh="需要检查的设备清单。",
                help_en="The devices to be checked.",
            ),
        ),
    ),
    FormDefinition(
        "hc_collect",
        "现场交流与采集",
        "On-site interviews and data collection",
        (
            Field(
                "collected_data",
                "text",
                required=True,
                label_zh="采集数据",
                label_en="Collected data",
                help_zh="在现场采集的运行数据和日志。",
                help_en="Operating data and logs collected on site.",
            ),
            Field(
                "interviews",
                "text",
                label_zh="交流记录",
                label_en="Interviews",
                help_zh="与客户人员交流的要点。",
                help_en="Key points from talks with the customer's staff.",
            ),
            Field(
                "hardware_issues",
                "bool",
                required=True,
                label_zh="发现硬件问题",
                label_en="Hardware issues found",
                help_zh="是否发现需要现场处理的硬件问题。",
                help_en="Whether hardware issues were found that need handling on site.",
            ),
            Field(
                "software_issues",
                "bool",
                required=True,
                label_zh="发现软件问题",
                label_en="Software issues found",
                help_zh="是否发现需要现场处理的软件问题。",
                help_en="Whether software issues were found that need handling on site.",
            ),
        ),
    ),
    FormDefinition(
        "hc_training",
        "技术交流与培训",
        "Technical exchange and training",
        (
            Field(
                "maintenance_notes",
                "text",
                required=True,
                label_zh="维护要点",
                label_en="Maintenance notes",
                help_zh="向客户交代的日常维护要点。",
                help_en="Routine maintenance points handed over to the customer.",
            ),
            Field(
                "service_report",
                "text",
                required=True,
                label_zh="服务报告",
                label_en="Service report",
                help_zh="本次现场服务的报告。",
                help_en="Report of this on-site service.",
            ),
        ),
    ),
    FormDefinition(
        "hc_summary",
        "健康检查总结报告",
        "Health check summary report",
        (
            Field(
                "findings",
                "text",
                required=True,
                label_zh="检查发现",
                label_en="Findings",
                help_zh="健康检查发现的情况。",
                help_en="What the health check found.",
            ),
            Field(
                "risks",
                "text",
                label_zh="风险",
                label_en="Risks",
                help_zh="系统存在的风险。",
                help_en="Risks the systems are exposed to.",
            ),
            Field(
                "recommendations",
                "text",
                label_zh="建议",
                label_en="Recommendations",
                help_zh="给客户的改进建议。",
                help_en="Improvements recommended to the customer.",
            ),
        ),
    ),
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
        "verify",
        "验证",
        "Verify",
        (
            Field(
                "verified",
                "bool",
                required=True,
                label_zh="验证通过",
                label_en="Verified",
                help_zh="实施结果是否验证通过。",
                help_en="Whether the result passed verification.",
            ),
            Field(
                "comment",
                "text",
                label_zh="验证说明",
                label_en="Comment",
                help_zh="验证过程或未通过的原因。",
                help_en="How it was verified, or why it failed.",
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
    # SLA: the warning before a target is missed and each escalation step after (seed 001 §5.1.5).
    FormDefinition(
        "sla_warning",
        "SLA 预警",
        "SLA warning",
        (
            Field(
                "acknowledged",
                "bool",
                required=True,
                label_zh="已知悉并处理",
                label_en="Acknowledged",
                help_zh="确认已知悉即将超时，并已安排处理。",
                help_en="Confirm you know the target is about to be missed and have acted.",
            ),
            Field(
                "comment",
                "text",
                label_zh="处理说明",
                label_en="Comment",
                help_zh="为赶上时限采取了什么措施。",
                help_en="What was done to meet the target.",
            ),
        ),
    ),
    FormDefinition(
        "sla_escalation",
        "SLA 升级",
        "SLA escalation",
        (
            Field(
                "action_taken",
                "text",
                required=True,
                label_zh="采取的措施",
                label_en="Action taken",
                help_zh="作为上级主管采取的措施（增派人员、协调厂商、联系用户等）。",
                help_en="What you did as the supervisor (more staff, vendor, talking to the customer).",
            ),
            Field(
                "comment",
                "text",
                label_zh="备注",
                label_en="Comment",
                help_zh="其他说明。",
                help_en="Anything else.",
            ),
        ),
    ),
    FormDefinition(
        "emergency_plan",
        "应急方案",
        "Emergency plan",
        (
            Field(
                "plan",
                "text",
                required=True,
                label_zh="应急方案",
                label_en="Emergency plan",
                help_zh="一级故障 12 小时未解决时的应急方案，须在 16 小时内提交。",
                help_en="The plan for a level-I fault unresolved after 12 hours; due within 16 hours.",
            ),
            Field(
                "measures",
                "text",
                label_zh="临时措施",
                label_en="Interim measures",
                help_zh="恢复业务的临时措施。",
                help_en="Interim measures to restore the business.",
            ),
        ),
    ),
)


class UnknownFormKey(KeyError):
    """No form is defined for a key, e.g. a BPMN formKey with a typo."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        # KeyError's own str() is just the quoted key; say what was looked up and what is close.
        text = f"unknown form key {self.key!r}"
        close = difflib.get_close_matches(str(self.key), sorted(FORMS), n=3)
        if close:
            text += f" (did you mean {', '.join(repr(key) for key in close)}?)"
        return text


def _index(definitions: Iterable[FormDefinition]) -> Mapping[str, FormDefinition]:
    forms: dict[str, FormDefinition] = {}
    for definition in definitions:
        if definition.key in forms:
            raise InvalidFormDefinition(f"form key {definition.key!r} is defined twice")
        forms[definition.key] = definition
    return MappingProxyType(forms)


# The knowledge base's forms are declared by topic in forms/knowledge.py, which reuses the choices above.
from forms.knowledge import KNOWLEDGE_FORMS  # noqa: E402

FORMS: Final[Mapping[str, FormDefinition]] = _index((*_DEFINITIONS, *KNOWLEDGE_FORMS))


def get_form(key: str) -> FormDefinition:
    """The form for ``key``; UnknownFormKey if none is defined."""
    try:
        return FORMS[key]
    except KeyError:
        raise UnknownFormKey(key) from None


def form_keys() -> frozenset[str]:
    """Every defined form key, for checking BPMN formKey attributes against."""
    return frozenset(FORMS)
