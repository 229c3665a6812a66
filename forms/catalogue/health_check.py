"""Forms of 健康检查 (health check)."""
from __future__ import annotations

from typing import Final

from forms.definition import FormDefinition
from forms.model import Field

DEFINITIONS: Final = (
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
)
