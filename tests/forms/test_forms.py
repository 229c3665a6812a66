"""Tests for forms/: the definitions match the conventions, and validation behaves as promised.

The conventions table below is the contract with the BPMN diagrams and reports; a form that
drifts from it fails here rather than at a gateway.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from marshmallow import RAISE, Schema

from forms import (
    FORMS,
    NON_FIELD_ERRORS,
    PARTS_MAX_ROWS,
    RESOLUTION_FIELDS,
    SERVICE_RECORD_FIELDS,
    STRING_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    Choice,
    Field,
    FormDefinition,
    FormValidationError,
    InvalidFormDefinition,
    UnknownFormKey,
    form_keys,
    get_form,
)
from forms.messages import CATALOGUE
from forms.model import PART_COLUMNS

# Grammar: id:type, then (a/b/c) enum values, [min..max] int bounds, ! when required.
_GROUPS = (
    "service_desk/engineer/service_manager/resident_manager/project_manager/"
    "general_manager/vendor/tech_lead/dept_lead/company_lead/report_reviewer/"
    "quality_admin/process_owner"
)
CONVENTIONS: dict[str, str] = {
    "request": (
        "channel:enum(phone/fax/web/email/monitoring/complaint)! requester_name:string! "
        "contact_phone:string! contact_email:email organisation:string! "
        "customer_type:enum(government/education/medical/enterprise/internal) "
        "business_line:enum(video_surveillance/call_center/software_platform/"
        "network_maintenance/other) zone:string system:string! "
        "device_type:enum(host/power/storage/memory/dvr/camera/call_seat/mas_terminal/"
        "network/software/other) ci_id:string title:string! description:text! "
        "urgency:enum(high/medium/low)!"
    ),
    "accept": "request_confirmed:bool! notes:text",
    "classify": (
        "category:enum(consultation/fault/service_request/complaint)! "
        "fault_level:enum(I/II/III/IV)! impact:text needs_third_party:bool out_of_scope:bool simple_request:bool"
    ),
    "resolution": (
        "resolved:bool! method:enum(phone/email/remote/onsite/vendor)! actions:text! "
        "cause:text solution_id:string parts_used:parts_list duration_min:int[0..]"
    ),
    "onsite_resolution": (
        "resolved:bool! method:enum(phone/email/remote/onsite/vendor)! actions:text! "
        "cause:text solution_id:string parts_used:parts_list duration_min:int[0..] "
        "work_done:text! customer_confirmed:bool! customer_comment:text"
    ),
    "dispatch_onsite": "engineer:user! appointment_at:datetime! address:string!",
    "first_line_answer": "answer:text! method:enum(phone/email/web/onsite_desk)! resolved:bool! solution_id:string",
    "escalate": f"reason:text! escalated_to_group:enum({_GROUPS})!",
    "satisfaction": "score:int[1..5]! comment:text remaining_problem:bool!",
    "root_cause": "cause:text! corrective_action:text! preventive_action:text",
    "analyse_fault": "symptom:text! suspected_cause:text fault_level:enum(I/II/III/IV)!",
    "resident_manager_report": "customer_contact:string! progress:text! resolved:bool!",
    "general_manager_report": "instructions:text!",
    "record_in_backoffice": "summary:text!",
    "fault_report": "fault_kind:string! cause:text! handling_method:text! losses:text prevention:text",
    "health_check_start": "organisation:string! contract:string scheduled_for:date",
    "hc_prepare": "customer_contact:string! plan:text! device_list:text!",
    "hc_collect": "collected_data:text! interviews:text hardware_issues:bool! software_issues:bool!",
    "hc_training": "maintenance_notes:text! service_report:text!",
    "hc_summary": "findings:text! risks:text recommendations:text",
    "contact_vendor": "vendor:string! ticket_no:string",
    "vendor_support": "solution:text!",
    "verify_vendor_solution": "resolved:bool! actions:text! verification:text!",
    "record_analyse": "need:text! analysis:text!",
    "onsite_check": "findings:text!",
    "feasible_plan": "plan:text! risks:text rollback:text",
    "ask_permission": "request_text:text!",
    "customer_permission": "permitted:bool! conditions:text",
    "problem_submit": "kind:enum(consultation/defect)! description:text! attachments:text",
    "consultation_record": "question:text! answer:text!",
    "problem_analyse": "problem_type:enum(technical/business/operation)! analysis:text!",
    "explain_and_convert": "explanation:text!",
    "problem_confirm": "proposal:text! supervisor_approved:bool!",
    "verify": "verified:bool! comment:text",
    "problem_report": "summary:text!",
    "problem_reply": "reply:text! root_cause:text change_record:text",
    "adjustment_request": "kind:enum(defect/ambiguous/new)! estimate_days:int[0..]! description:text!",
    "adjustment_approval": "approved:bool! comment:text",
    "sla_warning": "acknowledged:bool! comment:text",
    "sla_escalation": "action_taken:text! comment:text",
    "emergency_plan": "plan:text! measures:text",
    "fault_report_start": "source_instance:int[1..]! title:string fault_level:enum(I/II/III/IV)!",
    "solution": (
        "title:string! kind:enum(policy/solution/change/test/technical/reference)! system:string "
        "device_type:enum(host/power/storage/memory/dvr/camera/call_seat/mas_terminal/network/software/other) "
        "category:string symptom:text! cause:text fix:text!"
    ),
    "solution_submit": "solution_id:int[1..]! version:int[1..]! title:string!",
    "solution_review": "decision:enum(approve/send_back/reject)! comment:text",
    "solution_revise": "changes:text!",
    "parts_report_start": "month:string! issued:int[0..] issued_value:string below_minimum:int[0..] summary:text",
    "parts_report_confirm": "confirmed:bool! comment:text",
    "report_start": (
        "report_id:int[1..]! title:string! "
        "report_class:enum(regular/inspection/resident/major_event/expiry_summary)! due_at:datetime"
    ),
    "report_commentary": "commentary:text! late_reason:text",
    "report_review": "decision:enum(approve/send_back/special)! comment:text",
    "report_manager_review": "decision:enum(approve/send_back)! comment:text",
    "report_archive": (
        "device_type:enum(host/power/storage/memory/dvr/camera/call_seat/mas_terminal/network/software/other) "
        "customer_type:enum(government/education/medical/enterprise/internal) "
        "business_line:enum(video_surveillance/call_center/software_platform/network_maintenance/other) "
        "archive_note:text"
    ),
    "report_callback_start": "report_id:int[1..]! quarter:string!",
    "report_callback": "reached:bool! score:int[1..5] note:text",
    # The complaint flow (engine.desk.complaint).
    "complaint_start": "request_id:int[1..]! reason:enum(chases/channel/category)! title:string! summary:text",
    "complaint_responsible": "first_responsible:user! finding:text!",
    "complaint_handling": "actions:text! cause:text",
    "complaint_callback": "satisfied:bool! customer_comment:text",
}
_SPEC_ITEM = re.compile(
    r"(?P<id>\w+):(?P<type>\w+)(?:\((?P<choices>[\w/]+)\))?"
    r"(?:\[(?P<min>-?\d*)\.\.(?P<max>-?\d*)\])?(?P<required>!?)"
)

# zh labels that /work/shared/spec/forms.md gives word for word.
SPEC_LABELS: dict[tuple[str, str], str] = {
    ("request", "channel"): "受理渠道",
    ("request", "requester_name"): "联系人",
    ("request", "contact_phone"): "联系电话",
    ("request", "contact_email"): "邮箱",
    ("request", "organisation"): "单位/部门",
    ("request", "customer_type"): "客户类型",
    ("request", "business_line"): "业务",
    ("request", "zone"): "片区",
    ("request", "system"): "系统/设备",
    ("request", "device_type"): "设备类型",
    ("request", "ci_id"): "配置项",
    ("request", "title"): "标题",
    ("request", "description"): "问题描述",
    ("request", "urgency"): "紧急程度",
    ("classify", "category"): "类别",
    ("classify", "fault_level"): "故障级别",
    ("classify", "impact"): "影响范围",
    ("classify", "needs_third_party"): "是否需第三方",
    ("classify", "out_of_scope"): "是否超出服务范围",
    ("resolution", "resolved"): "是否解决",
    ("resolution", "method"): "处理方式",
    ("resolution", "actions"): "处理过程",
    ("resolution", "cause"): "故障原因",
    ("resolution", "solution_id"): "解决方案",
    ("resolution", "parts_used"): "使用备件",
    ("onsite_resolution", "customer_confirmed"): "客户确认",
    ("satisfaction", "score"): "满意度",
    ("satisfaction", "comment"): "意见",
    ("satisfaction", "remaining_problem"): "有无遗留问题",
}
SPEC_CHOICE_LABELS: dict[tuple[str, str, str], str] = {
    ("request", "channel", "phone"): "电话",
    ("request", "channel", "fax"): "传真",
    ("request", "channel", "web"): "网站",
    ("request", "channel", "email"): "邮件",
    ("request", "channel", "monitoring"): "监控告警",
    ("request", "channel", "complaint"): "投诉",
    ("request", "customer_type", "government"): "政府",
    ("request", "customer_type", "education"): "教育",
    ("request", "customer_type", "medical"): "医疗",
    ("request", "customer_type", "enterprise"): "企业",
    ("request", "customer_type", "internal"): "母公司",
    ("request", "business_line", "video_surveillance"): "视频监控",
    ("request", "business_line", "call_center"): "呼叫中心",
    ("request", "business_line", "software_platform"): "软件平台",
    ("request", "business_line", "network_maintenance"): "网络维护",
    ("request", "device_type", "host"): "主机",
    ("request", "device_type", "power"): "电源",
    ("request", "device_type", "storage"): "存储",
    ("request", "device_type", "memory"): "内存",
    ("request", "device_type", "dvr"): "硬盘录像机",
    ("request", "device_type", "camera"): "前端摄像头",
    ("request", "device_type", "call_seat"): "话务座席",
    ("request", "device_type", "mas_terminal"): "MAS终端",
    ("classify", "category", "consultation"): "咨询",
    ("classify", "category", "fault"): "故障",
    ("classify", "category", "service_request"): "服务请求",
    ("classify", "category", "complaint"): "投诉",
}
SPEC_TITLES: dict[str, str] = {
    "request": "提出服务需求",
    "accept": "受理并记录",
    "classify": "事件分类",
    "dispatch_onsite": "派发现场服务单",
    "escalate": "服务升级",
    "satisfaction": "满意度回访",
    "root_cause": "原因调查及诊断",
    "analyse_fault": "分析故障",
    "record_in_backoffice": "录入后台数据库",
    "fault_report": "故障技术报告",
    "hc_prepare": "预备阶段",
    "hc_collect": "现场交流与采集",
    "hc_training": "技术交流与培训",
    "hc_summary": "健康检查总结报告",
    "contact_vendor": "联系第三方供应商",
    "vendor_support": "厂商技术支持",
    "record_analyse": "记录和分析用户需求",
    "onsite_check": "工程师现场检测与处理",
    "feasible_plan": "提供可行性方案",
    "customer_permission": "用户需求负责人允许",
    "problem_submit": "问题提交",
    "problem_analyse": "问题分析",
}

_CJK = re.compile(r"[\u4e00-\u9fff]")


# --- helpers -----------------------------------------------------------------------------------


def spec_items(key: str) -> list[dict[str, Any]]:
    items = []
    for token in CONVENTIONS[key].split():
        match = _SPEC_ITEM.fullmatch(token)
        assert match, f"bad conventions token {token!r}"
        items.append(
            {
                "id": match["id"],
                "type": match["type"],
                "required": match["required"] == "!",
                "choices": match["choices"].split("/") if match["choices"] else [],
                "min": int(match["min"]) if match["min"] else None,
                "max": int(match["max"]) if match["max"] else None,
            }
        )
    return items


def sample_value(field: Field) -> Any:
    """A valid value for ``field`` as a JSON client would send it."""
    samples: dict[str, Any] = {
        "string": "Disk array A",
        "text": "The array reports a failed disk.",
        "email": "li.wei@example.com",
        "bool": True,
        "date": "2024-05-01",
        "datetime": "2024-05-01T10:30",
        "parts_list": [{"part": "600GB SAS disk", "quantity": 2}],
        "user": "engineer",  # the form takes a user name; the engine checks the group (engine.desk.pickers)
    }
    if field.type == "enum":
        return field.choices[0].value
    if field.type == "int":
        return field.min if field.min is not None else 3
    return samples[field.type]


def cleaned_value(field: Field) -> Any:
    """What validation turns ``sample_value(field)`` into."""
    if field.type == "datetime":
        return "2024-05-01T10:30:00"
    return sample_value(field)


def minimal_payload(form: FormDefinition) -> dict[str, Any]:
    return {spec.id: sample_value(spec) for spec in form.fields if spec.required}


def full_payload(form: FormDefinition) -> dict[str, Any]:
    return {spec.id: sample_value(spec) for spec in form.fields}


def all_fields(*types: str) -> list[Any]:
    return [
        pytest.param(key, spec.id, id=f"{key}.{spec.id}")
        for key, form in FORMS.items()
        for spec in form.fields
        if not types or spec.type in types
    ]


def required_fields() -> list[Any]:
    return [
        pytest.param(key, spec.id, id=f"{key}.{spec.id}")
        for key, form in FORMS.items()
        for spec in form.fields
        if spec.required
    ]


def errors_of(form: FormDefinition, data: Any, **kwargs: Any) -> FormValidationError:
    with pytest.raises(FormValidationError) as caught:
        form.validate(data, **kwargs)
    return caught.value


# --- the registry matches the conventions ------------------------------------------------------


def test_every_conventions_form_key_is_defined() -> None:
    assert form_keys() == frozenset(CONVENTIONS)
    assert set(FORMS) == set(CONVENTIONS)


@pytest.mark.parametrize("key", sorted(CONVENTIONS))
def test_fields_match_the_conventions(key: str) -> None:
    form = get_form(key)
    declared = [
        {
            "id": spec.id,
            "type": spec.type,
            "required": spec.required,
            "choices": [choice.value for choice in spec.choices],
            "min": spec.min,
            "max": spec.max,
        }
        for spec in form.fields
    ]
    assert declared == spec_items(key)
    assert form.key == key


def test_get_form_returns_the_registered_definition() -> None:
    assert get_form("satisfaction") is FORMS["satisfaction"]
    assert isinstance(get_form("request"), FormDefinition)


def test_unknown_form_key_is_a_readable_key_error() -> None:
    with pytest.raises(UnknownFormKey) as caught:
        get_form("reqest")
    error = caught.value
    assert isinstance(error, KeyError)
    assert error.key == "reqest"
    assert str(error) == "unknown form key 'reqest' (did you mean 'request'?)"
    with pytest.raises(KeyError, match="no_such_form"):
        get_form("no_such_form")


def test_forms_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        FORMS["new"] = get_form("request")  # type: ignore[index]


# --- labels --------------------------------------------------------------------------------------


def _texts() -> list[tuple[str, str, str]]:
    """(where, zh, en) for every title, label, help and choice label."""
    texts = []
    for key, form in FORMS.items():
        texts.append((f"{key} title", form.title_zh, form.title_en))
        for spec in (*form.fields, *PART_COLUMNS):
            where = f"{key}.{spec.id}"
            texts.append((f"{where} label", spec.label_zh, spec.label_en))
            texts.append((f"{where} help", spec.help_zh, spec.help_en))
            for choice in spec.choices:
                texts.append((f"{where}={choice.value}", choice.label_zh, choice.label_en))
    return texts


def test_every_label_help_and_choice_has_zh_and_en_text() -> None:
    texts = _texts()
    assert len(texts) > 300
    for where, zh, en in texts:
        assert zh.strip(), f"{where}: empty zh"
        assert en.strip(), f"{where}: empty en"
        assert _CJK.search(zh), f"{where}: zh text {zh!r} has no Chinese"
        assert not _CJK.search(en), f"{where}: en text {en!r} has Chinese"


@pytest.mark.parametrize(("key", "field_id"), list(SPEC_LABELS))
def test_zh_labels_given_by_the_spec_are_used(key: str, field_id: str) -> None:
    assert get_form(key).field(field_id).label_zh == SPEC_LABELS[(key, field_id)]


def test_zh_choice_labels_and_titles_given_by_the_spec_are_used() -> None:
    for (key, field_id, value), label in SPEC_CHOICE_LABELS.items():
        choices = {choice.value: choice for choice in get_form(key).field(field_id).choices}
        assert choices[value].label_zh == label
    for key, title in SPEC_TITLES.items():
        assert get_form(key).title_zh == title


# --- valid data --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(CONVENTIONS))
def test_minimal_valid_payload_validates(key: str) -> None:
    form = get_form(key)
    cleaned = form.validate(minimal_payload(form))
    expected = {spec.id: cleaned_value(spec) for spec in form.fields if spec.required}
    # Optional booleans default to False so gateway conditions can always read them.
    expected |= {spec.id: False for spec in form.fields if spec.type == "bool" and not spec.required}
    assert cleaned == expected
    assert json.loads(json.dumps(cleaned)) == cleaned


@pytest.mark.parametrize("key", sorted(CONVENTIONS))
def test_full_valid_payload_validates(key: str) -> None:
    form = get_form(key)
    cleaned = form.validate(full_payload(form))
    assert cleaned == {spec.id: cleaned_value(spec) for spec in form.fields}
    assert json.loads(json.dumps(cleaned)) == cleaned


def test_strings_are_stripped_and_blank_optional_values_dropped() -> None:
    form = get_form("request")
    data = minimal_payload(form) | {
        "requester_name": "  李伟 \n",
        "zone": "   ",
        "ci_id": "",
        "contact_email": None,
    }
    cleaned = form.validate(data)
    assert cleaned["requester_name"] == "李伟"
    assert "zone" not in cleaned
    assert "ci_id" not in cleaned
    assert "contact_email" not in cleaned


def test_schema_is_a_cached_marshmallow_schema_that_raises_on_unknown_fields() -> None:
    form = get_form("classify")
    schema = form.schema()
    assert isinstance(schema, Schema)
    assert schema is form.schema()
    assert schema.unknown == RAISE
    assert set(schema.fields) == set(form.field_ids)
    assert get_form("accept").schema() is not schema


# --- invalid data, by kind ---------------------------------------------------------------------


@pytest.mark.parametrize(("key", "field_id"), required_fields())
@pytest.mark.parametrize("how", ["absent", "blank", "null"])
def test_missing_required_field_is_refused(key: str, field_id: str, how: str) -> None:
    form = get_form(key)
    data = minimal_payload(form)
    if how == "absent":
        del data[field_id]
    else:
        data[field_id] = "   " if how == "blank" else None
    error = errors_of(form, data)
    assert error.codes == {field_id: ["required"]}
    assert error.errors == {field_id: ["This field is required."]}


@pytest.mark.parametrize(("key", "field_id"), all_fields("enum"))
def test_value_outside_the_enum_is_refused(key: str, field_id: str) -> None:
    form = get_form(key)
    spec = form.field(field_id)
    for bad in ("not_a_choice", spec.choices[0].value.upper() + "X", 1, ["phone"]):
        error = errors_of(form, minimal_payload(form) | {field_id: bad})
        assert error.codes == {field_id: ["not_one_of"]}
    english = error.errors[field_id][0]
    chinese = errors_of(form, minimal_payload(form) | {field_id: "not_a_choice"}, locale="zh_CN").errors[field_id][0]
    # The labels the user picks from, in the user's language, not the stored values.
    assert english == "Must be one of: " + ", ".join(choice.label_en for choice in spec.choices) + "."
    assert chinese == "必须是以下之一：" + "、".join(choice.label_zh for choice in spec.choices) + "。"


def test_enum_message_names_labels_not_internal_codes() -> None:
    form = get_form("request")
    error = errors_of(form, minimal_payload(form) | {"channel": "pigeon"}, locale="zh_CN")
    assert error.errors["channel"] == ["必须是以下之一：电话、传真、网站、邮件、监控告警、投诉。"]
    assert "phone" not in error.errors["channel"][0] and "monitoring" not in error.errors["channel"][0]
    english = errors_of(form, minimal_payload(form) | {"channel": "pigeon"})
    assert english.errors["channel"] == ["Must be one of: Phone, Fax, Website, Email, Monitoring alert, Complaint."]


@pytest.mark.parametrize(("key", "field_id"), all_fields("string", "text", "email"))
def test_too_long_text_is_refused(key: str, field_id: str) -> None:
    form = get_form(key)
    spec = form.field(field_id)
    limit = STRING_MAX_LENGTH if spec.type in ("string", "email") else TEXT_MAX_LENGTH
    assert spec.max_length == limit
    suffix = "@example.com" if spec.type == "email" else ""
    at_limit = "a" * (limit - len(suffix)) + suffix
    too_long = "a" + at_limit
    if spec.type != "email":  # no real address has a 188-character local part
        assert form.validate(minimal_payload(form) | {field_id: at_limit})[field_id] == at_limit
    error = errors_of(form, minimal_payload(form) | {field_id: too_long})
    assert list(error.codes) == [field_id]
    assert "too_long" in error.codes[field_id]
    assert f"at most {limit} characters" in " ".join(error.errors[field_id])


def test_length_is_measured_after_stripping() -> None:
    form = get_form("request")
    padded = "  " + "a" * STRING_MAX_LENGTH + "  "
    assert form.validate(minimal_payload(form) | {"title": padded})["title"] == padded.strip()


@pytest.mark.parametrize(
    ("key", "field_id", "value"),
    [
        ("satisfaction", "score", 0),
        ("satisfaction", "score", 6),
        ("satisfaction", "score", "-1"),
        ("adjustment_request", "estimate_days", -1),
        ("resolution", "duration_min", -5),
        ("onsite_resolution", "duration_min", "-1"),
    ],
)
def test_int_out_of_range_is_refused(key: str, field_id: str, value: Any) -> None:
    form = get_form(key)
    error = errors_of(form, minimal_payload(form) | {field_id: value})
    assert list(error.codes) == [field_id]
    assert error.codes[field_id][0] in {"out_of_range", "below_min"}


@pytest.mark.parametrize(
    ("key", "field_id", "value"),
    [
        ("satisfaction", "score", 1),
        ("satisfaction", "score", 5),
        ("adjustment_request", "estimate_days", 0),
        ("adjustment_request", "estimate_days", 250),
        ("resolution", "duration_min", 0),
    ],
)
def test_int_at_the_bounds_is_accepted(key: str, field_id: str, value: int) -> None:
    form = get_form(key)
    assert form.validate(minimal_payload(form) | {field_id: value})[field_id] == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [(4, 4), ("4", 4), (" 4 ", 4), ("+4", 4), (4.0, 4), ("４", 4)],
)
def test_int_accepts_numbers_and_form_strings(value: Any, expected: int) -> None:
    form = get_form("satisfaction")
    assert form.validate(minimal_payload(form) | {"score": value})["score"] == expected


@pytest.mark.parametrize("value", ["4.5", 4.5, "four", True, "1e3", [4], {"v": 4}, "9" * 30])
def test_int_refuses_non_integers(value: Any) -> None:
    form = get_form("satisfaction")
    error = errors_of(form, minimal_payload(form) | {"score": value})
    assert error.codes == {"score": ["invalid_int"]}


@pytest.mark.parametrize(
    "value",
    ["li.wei", "li.wei@", "@example.com", "li wei@example.com", "li@@example.com", 42],
)
def test_bad_email_is_refused(value: Any) -> None:
    form = get_form("request")
    error = errors_of(form, minimal_payload(form) | {"contact_email": value})
    assert list(error.codes) == ["contact_email"]
    assert error.codes["contact_email"] == ["invalid_email"]


def test_good_email_is_kept() -> None:
    form = get_form("request")
    data = minimal_payload(form) | {"contact_email": " wang.fang@example.com.cn "}
    assert form.validate(data)["contact_email"] == "wang.fang@example.com.cn"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024-05-01", "2024-05-01"), (" 2024-02-29 ", "2024-02-29"), ("20240501", "2024-05-01")],
)
def test_date_is_kept_as_an_iso_string(value: str, expected: str) -> None:
    form = get_form("health_check_start")
    cleaned = form.validate(minimal_payload(form) | {"scheduled_for": value})
    assert cleaned["scheduled_for"] == expected


@pytest.mark.parametrize("value", ["2024-13-01", "2023-02-29", "01/05/2024", "tomorrow", 20240501, "2024-05-01T10:00"])
def test_bad_date_is_refused(value: Any) -> None:
    form = get_form("health_check_start")
    error = errors_of(form, minimal_payload(form) | {"scheduled_for": value})
    assert error.codes == {"scheduled_for": ["invalid_date"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:30", "2024-05-01T10:30:00"),
        ("2024-05-01 10:30:15", "2024-05-01T10:30:15"),
        ("2024-05-01T10:30:00+08:00", "2024-05-01T10:30:00+08:00"),
        ("2024-05-01T02:30:00Z", "2024-05-01T02:30:00+00:00"),
    ],
)
def test_datetime_is_kept_as_an_iso_string(value: str, expected: str) -> None:
    form = get_form("dispatch_onsite")
    cleaned = form.validate(minimal_payload(form) | {"appointment_at": value})
    assert cleaned["appointment_at"] == expected
    assert isinstance(cleaned["appointment_at"], str)


@pytest.mark.parametrize("value", ["2024-05-01", "10:30", "2024-05-01T25:00", "next monday", 1714530600])
def test_bad_datetime_is_refused(value: Any) -> None:
    form = get_form("dispatch_onsite")
    error = errors_of(form, minimal_payload(form) | {"appointment_at": value})
    assert error.codes == {"appointment_at": ["invalid_datetime"]}


@pytest.mark.parametrize("key", sorted(CONVENTIONS))
def test_unknown_field_is_refused(key: str) -> None:
    form = get_form(key)
    for value in ("x", "", None):
        error = errors_of(form, minimal_payload(form) | {"is_admin": value})
        assert error.codes == {"is_admin": ["unknown_field"]}
        assert error.errors == {"is_admin": ['Unknown field "is_admin".']}
        chinese = errors_of(form, minimal_payload(form) | {"is_admin": value}, locale="zh_CN")
        assert chinese.errors == {"is_admin": ["未知字段“is_admin”。"]}


def test_data_that_is_not_a_mapping_is_refused() -> None:
    form = get_form("accept")
    for data in (["request_confirmed"], "request_confirmed=true", None):
        error = errors_of(form, data)
        assert error.codes == {NON_FIELD_ERRORS: ["invalid_type"]}


def test_all_problems_are_reported_at_once_in_form_order() -> None:
    form = get_form("request")
    data = {"zebra": 1, "urgency": "urgent", "channel": "pigeon", "contact_email": "x"}
    error = errors_of(form, data)
    assert list(error.errors) == [
        "channel",
        "requester_name",
        "contact_phone",
        "contact_email",
        "organisation",
        "system",
        "title",
        "description",
        "urgency",
        "zebra",
    ]
    assert "channel: Must be one of" in str(error)


# --- booleans ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("false", False),
        ("True", True),
        ("FALSE", False),
        ("on", True),
        ("off", False),
        ("1", True),
        ("0", False),
        (" on ", True),
    ],
)
def test_bool_accepts_json_booleans_and_form_strings(value: Any, expected: bool) -> None:
    form = get_form("accept")
    assert form.validate({"request_confirmed": value}) == {"request_confirmed": expected}


@pytest.mark.parametrize("value", ["yes", "no", "2", "t", 1, 0, 1.0, [True]])
def test_bool_refuses_other_values(value: Any) -> None:
    form = get_form("accept")
    error = errors_of(form, {"request_confirmed": value})
    assert error.codes == {"request_confirmed": ["invalid_bool"]}


def test_optional_bool_defaults_to_false_when_not_posted() -> None:
    form = get_form("classify")
    cleaned = form.validate({"category": "fault", "fault_level": "II"})
    assert cleaned["needs_third_party"] is False
    assert cleaned["out_of_scope"] is False
    cleaned = form.validate({"category": "fault", "fault_level": "II", "needs_third_party": "on"})
    assert cleaned["needs_third_party"] is True


# --- parts list --------------------------------------------------------------------------------


def _resolution(**extra: Any) -> dict[str, Any]:
    return {"resolved": True, "method": "onsite", "actions": "Replaced the disk."} | extra


def test_parts_list_loads_rows_and_converts_quantities() -> None:
    form = get_form("resolution")
    rows = [
        {"part": " 600GB SAS disk ", "quantity": "2"},
        {"part": "Power supply", "quantity": 1},
        {"part": "", "quantity": ""},  # the empty trailing row of a browser table
    ]
    cleaned = form.validate(_resolution(parts_used=rows))
    assert cleaned["parts_used"] == [
        {"part": "600GB SAS disk", "quantity": 2},
        {"part": "Power supply", "quantity": 1},
    ]


def test_parts_list_of_only_blank_rows_counts_as_not_given() -> None:
    form = get_form("resolution")
    assert "parts_used" not in form.validate(_resolution(parts_used=[{"part": ""}]))
    assert "parts_used" not in form.validate(_resolution(parts_used=[]))


def test_parts_list_row_errors_name_row_and_column() -> None:
    form = get_form("resolution")
    rows = [
        {"part": "disk", "quantity": 0},
        {"quantity": 1},
        {"part": "fan", "quantity": 1, "serial": "X1"},
        "disk x1",
    ]
    error = errors_of(form, _resolution(parts_used=rows))
    assert list(error.errors) == ["parts_used"]
    assert error.errors["parts_used"] == [
        "Row 1, Quantity: Must be at least 1.",
        "Row 2, Part: This field is required.",
        'Row 3, serial: Unknown field "serial".',
        "Row 4: Each row must be an object.",
    ]
    assert error.codes["parts_used"] == ["below_min", "required", "unknown_field", "invalid_row"]
    zh = errors_of(form, _resolution(parts_used=rows), locale="zh_CN")
    assert zh.errors["parts_used"][:2] == ["第 1 行，数量：不能小于 1。", "第 2 行，备件：此项为必填项。"]


def test_parts_list_row_limit() -> None:
    form = get_form("resolution")
    row = {"part": "disk", "quantity": 1}
    assert len(form.validate(_resolution(parts_used=[row] * PARTS_MAX_ROWS))["parts_used"]) == 50
    error = errors_of(form, _resolution(parts_used=[row] * (PARTS_MAX_ROWS + 1)))
    assert error.codes == {"parts_used": ["too_many_rows"]}
    assert error.errors == {"parts_used": ["At most 50 rows."]}


@pytest.mark.parametrize("value", ["disk x2", {"part": "disk", "quantity": 2}, 3])
def test_parts_list_must_be_a_list(value: Any) -> None:
    error = errors_of(get_form("resolution"), _resolution(parts_used=value))
    assert error.codes == {"parts_used": ["invalid_list"]}


# --- messages ----------------------------------------------------------------------------------


def test_messages_default_to_english_and_follow_the_locale() -> None:
    form = get_form("satisfaction")
    data = {"score": 9, "remaining_problem": "maybe", "extra": 1}
    english = errors_of(form, data)
    assert english.locale == "en"
    assert english.errors == {
        "score": ["Must be between 1 and 5."],
        "remaining_problem": ["Must be true or false."],
        "extra": ['Unknown field "extra".'],
    }
    for locale in ("zh_CN", "zh-CN", "zh", "zh_Hans"):
        chinese = errors_of(form, data, locale=locale)
        assert chinese.errors == {
            "score": ["必须在 1 到 5 之间。"],
            "remaining_problem": ["必须为“是”或“否”。"],
            "extra": ["未知字段“extra”。"],
        }
        assert chinese.codes == english.codes
    assert errors_of(form, data, locale="fr_FR").errors == english.errors


@pytest.mark.parametrize(
    ("data", "field_id", "en", "zh"),
    [
        ({}, "channel", "This field is required.", "此项为必填项。"),
        ({"title": "a" * 201}, "title", "Must be at most 200 characters.", "最多 200 个字符。"),
        ({"contact_email": "x"}, "contact_email", "Must be a valid email address.", "邮箱地址格式不正确。"),
        ({"requester_name": 5}, "requester_name", "Must be text.", "必须为文本。"),
    ],
)
def test_message_wording_in_both_languages(data: dict[str, Any], field_id: str, en: str, zh: str) -> None:
    form = get_form("request")
    assert errors_of(form, data).errors[field_id] == [en]
    assert errors_of(form, data, locale="zh_CN").errors[field_id] == [zh]


def test_catalogue_has_both_languages_with_the_same_placeholders() -> None:
    placeholder = re.compile(r"\{(\w+)\}")
    for code, texts in CATALOGUE.items():
        assert set(texts) == {"zh", "en"}, code
        assert texts["en"].strip() and _CJK.search(texts["zh"]), code
        assert set(placeholder.findall(texts["zh"])) == set(placeholder.findall(texts["en"]))


# --- shared pieces -----------------------------------------------------------------------------


def test_onsite_resolution_is_resolution_plus_service_record() -> None:
    onsite = get_form("onsite_resolution")
    resolution = get_form("resolution")
    assert resolution.fields == RESOLUTION_FIELDS
    assert onsite.fields == (*RESOLUTION_FIELDS, *SERVICE_RECORD_FIELDS)
    # The very same Field objects: a change to resolution cannot miss the on-site form.
    assert all(a is b for a, b in zip(onsite.fields, resolution.fields, strict=False))
    assert {"work_done", "customer_confirmed", "customer_comment"} <= set(onsite.field_ids)
    error = errors_of(onsite, {"work_done": "Replaced disk", "customer_confirmed": True})
    assert set(error.codes) == {"resolved", "method", "actions"}


def test_shared_fields_are_reused_not_copied() -> None:
    assert get_form("classify").field("fault_level") is get_form("analyse_fault").field("fault_level")
    assert get_form("resident_manager_report").field("resolved") is RESOLUTION_FIELDS[0]


# --- render data -------------------------------------------------------------------------------


def test_render_fields_in_chinese() -> None:
    rendered = get_form("satisfaction").render_fields("zh_CN")
    assert [item["id"] for item in rendered] == ["score", "comment", "remaining_problem"]
    assert rendered[0] == {
        "id": "score",
        "type": "int",
        "required": True,
        "label": "满意度",
        "help": "1 分最不满意，5 分最满意。",
        "choices": [],
        "min": 1,
        "max": 5,
        "max_length": None,
        "max_rows": None,
        "columns": [],
        "group": None,
    }
    assert rendered[1]["max_length"] == TEXT_MAX_LENGTH
    assert rendered[1]["required"] is False


def test_render_fields_choices_follow_the_locale() -> None:
    form = get_form("request")
    zh = {item["id"]: item for item in form.render_fields("zh_CN")}
    en = {item["id"]: item for item in form.render_fields("en")}
    assert zh["channel"]["label"] == "受理渠道"
    assert en["channel"]["label"] == "Channel"
    assert zh["channel"]["choices"][:2] == [("phone", "电话"), ("fax", "传真")]
    assert en["channel"]["choices"][:2] == [("phone", "Phone"), ("fax", "Fax")]
    assert zh["title"]["max_length"] == STRING_MAX_LENGTH
    assert en["contact_email"]["type"] == "email"


def test_render_fields_of_a_parts_list_carry_its_columns() -> None:
    rendered = {item["id"]: item for item in get_form("resolution").render_fields("en")}
    parts = rendered["parts_used"]
    assert parts["max_rows"] == PARTS_MAX_ROWS
    assert [(column["id"], column["label"], column["min"]) for column in parts["columns"]] == [
        ("part", "Part", None),
        ("quantity", "Quantity", 1),
        ("centre", "Service centre", None),
    ]


@pytest.mark.parametrize("key", sorted(CONVENTIONS))
def test_render_fields_is_plain_json_data(key: str) -> None:
    form = get_form(key)
    for locale in ("zh_CN", "en"):
        rendered = form.render_fields(locale)
        assert [item["id"] for item in rendered] == list(form.field_ids)
        json.dumps(rendered, ensure_ascii=False)
        assert all(item["label"] and item["help"] for item in rendered)
    assert get_form(key).title("zh_CN") == form.title_zh
    assert get_form(key).title("en") == form.title_en


# --- declarations are checked at import ---------------------------------------------------------


def _field(field_id: str = "ok", field_type: Any = "string", **extra: Any) -> Field:
    texts = {"label_zh": "标签", "label_en": "Label", "help_zh": "帮助", "help_en": "Help"}
    return Field(field_id, field_type, **(texts | extra))


@pytest.mark.parametrize(
    ("field_id", "reason"),
    [
        ("class", "keyword"),
        ("True", "keyword"),
        ("_private", "must not start with '_'"),
        ("1st_level", "not a valid Python identifier"),
        ("fault-level", "not a valid Python identifier"),
        ("fault level", "not a valid Python identifier"),
        ("", "not a valid Python identifier"),
    ],
)
def test_field_ids_that_cannot_be_gateway_names_are_refused(field_id: str, reason: str) -> None:
    with pytest.raises(InvalidFormDefinition, match=reason):
        _field(field_id)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"field_type": "enum"}, "needs choices"),
        ({"choices": (Choice("a", "甲", "A"),)}, "only enum fields have choices"),
        (
            {"field_type": "enum", "choices": (Choice("a", "甲", "A"), Choice("a", "乙", "B"))},
            "duplicate choice",
        ),
        ({"field_type": "enum", "choices": (("a", "", "A"),)}, "label_zh"),
        ({"field_type": "enum", "choices": (("a", "甲"),)}, "value, label_zh, label_en"),
        ({"label_en": " "}, "label_en"),
        ({"help_zh": ""}, "help_zh"),
        ({"field_type": "money"}, "unknown type"),
        ({"min": 1}, "only int fields"),
        ({"field_type": "int", "min": 5, "max": 1}, "above max"),
    ],
)
def test_bad_field_declarations_are_refused(extra: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidFormDefinition, match=reason):
        _field(**extra)


def test_plain_tuples_become_choices() -> None:
    spec = _field(field_type="enum", choices=(("a", "甲", "A"),))
    assert spec.choices == (Choice("a", "甲", "A"),)
    assert spec.choices[0].label("zh_CN") == "甲"


def test_bad_form_declarations_are_refused() -> None:
    with pytest.raises(InvalidFormDefinition, match="more than once"):
        FormDefinition("twice", "两次", "Twice", (_field("a"), _field("a")))
    with pytest.raises(InvalidFormDefinition, match="no fields"):
        FormDefinition("empty", "空", "Empty", ())
    with pytest.raises(InvalidFormDefinition, match="title_en"):
        FormDefinition("untitled", "无题", "", (_field(),))
    with pytest.raises(InvalidFormDefinition, match="Form key"):
        FormDefinition("bad-key", "坏", "Bad", (_field(),))


def test_a_user_field_names_the_group_it_picks_from_and_no_other_field_does() -> None:
    labels = {"label_zh": "工程师", "label_en": "Engineer", "help_zh": "说明", "help_en": "Help"}
    with pytest.raises(InvalidFormDefinition, match="names the group to pick from"):
        Field("engineer", "user", **labels)
    with pytest.raises(InvalidFormDefinition, match="names the group to pick from"):
        Field("engineer", "string", group="engineer", **labels)
    picked = Field("engineer", "user", group="engineer", **labels)
    assert FormDefinition("pick", "选人", "Pick", (picked,)).validate({"engineer": "wang"}) == {"engineer": "wang"}
