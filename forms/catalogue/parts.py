"""The spare-parts monthly report (seed 000: 每月统计备用设备与零件使用与库存情况，形成报告，经理确认): the
figures the scheduler starts the `parts_report` process with, and the manager's confirmation."""

from __future__ import annotations

from typing import Final

from forms.definition import FormDefinition
from forms.model import Field

DEFINITIONS: Final = (
    FormDefinition(
        "parts_report_start",
        "备件使用与库存月报",
        "Monthly spare-parts usage and stock report",
        (
            Field("month", "string", required=True, label_zh="月份", label_en="Month",
                  help_zh="报告的月份（YYYY-MM）。", help_en="The month reported on (YYYY-MM)."),
            Field("issued", "int", min=0, label_zh="领用数量", label_en="Units issued",
                  help_zh="本月领用到案件的备件件数。", help_en="Parts issued to cases in the month."),
            Field("issued_value", "string", label_zh="领用金额（元）", label_en="Value issued (yuan)",
                  help_zh="本月领用备件的金额。", help_en="The value of the parts issued in the month."),
            Field("below_minimum", "int", min=0, label_zh="低于最低库存", label_en="Below the minimum",
                  help_zh="月末库存低于约定最低库存的备件数。",
                  help_en="Parts whose stock at the month's end was below the agreed minimum."),
            Field("summary", "text", label_zh="明细", label_en="Details",
                  help_zh="各服务中心每种备件的入库、领用、退回、核销、盘点调整和月末库存。",
                  help_en="Per centre and part: received, issued, returned, written off, adjusted, stock at the end."),
        ),
    ),
    FormDefinition(
        "parts_report_confirm",
        "确认备件月报",
        "Confirm the monthly parts report",
        (
            Field("confirmed", "bool", required=True, label_zh="确认", label_en="Confirmed",
                  help_zh="数字与库存相符，月报确认后报送公司。",
                  help_en="The figures match the store; the confirmed report goes to the company."),
            Field("comment", "text", label_zh="意见", label_en="Comment",
                  help_zh="不确认时说明哪里不符。", help_en="When not confirming: what does not match."),
        ),
    ),
)
