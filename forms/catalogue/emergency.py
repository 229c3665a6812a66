"""Forms of 应急服务 (emergency service) only."""
from __future__ import annotations

from typing import Final

from forms.catalogue.common import FAULT_LEVEL, RESOLVED
from forms.definition import FormDefinition
from forms.model import Field

DEFINITIONS: Final = (
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
    # Starts 故障技术报告 when a level I/II fault of a flow without a report step is resolved (engine.desk.sla).
    FormDefinition(
        "fault_report_start",
        "故障技术报告任务",
        "Fault report due",
        (
            Field(
                "source_instance",
                "int",
                required=True,
                min=1,
                label_zh="故障请求编号",
                label_en="Request no.",
                help_zh="已解决的故障请求的编号，报告写的就是它。",
                help_en="The resolved fault request the report is about.",
            ),
            Field(
                "title",
                "string",
                label_zh="标题",
                label_en="Title",
                help_zh="故障请求的标题。",
                help_en="The fault request's title.",
            ),
            FAULT_LEVEL,
        ),
    ),
)
