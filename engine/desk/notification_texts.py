"""The words of every notification, in Chinese and English: the subject (also the in-app line) and the plain-text
mail body, by kind and by the recipient's locale. Plain format strings, no Flask-Babel: engine/ never imports Flask,
and a mail is composed long after the request that caused it, in the recipient's language, not the actor's."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.users import GROUPS

LOCALES = ("zh_CN", "en")

# kind -> locale -> (subject, body lines). Fields: {id} the request's number (INC-2026-000123; "#<id>" for one
# numbered before numbers existed), {title}, {task}, {group}, {actor}, {count} (chases), {note}, {step}
# (escalation), {level}, {excerpt} (a reply's first words).
_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "request_opened": {
        "zh_CN": ("【新请求】{id}「{title}」", "新的服务请求 {id}「{title}」已提交，等待服务台受理。"),
        "en": ("New request {id}: {title}", "A new service request {id} \"{title}\" was raised and waits for the "
                                            "service desk."),
    },
    "task_assigned": {
        "zh_CN": ("【分派给您】请求 {id} 的任务「{task}」", "请求 {id}「{title}」的任务「{task}」已分派给您。"),
        "en": ("Assigned to you: \"{task}\" of request {id}", "Task \"{task}\" of request {id} \"{title}\" was "
                                                             "assigned to you."),
    },
    "task_released": {
        "zh_CN": ("【任务退回】请求 {id} 的任务「{task}」", "{actor} 已将请求 {id}「{title}」的任务「{task}」"
                                                       "退回{group}，请组内同事认领。"),
        "en": ("Task released: \"{task}\" of request {id}", "{actor} released task \"{task}\" of request {id} "
                                                           "\"{title}\" back to {group}; someone in the group may "
                                                           "claim it."),
    },
    "request_chased": {
        "zh_CN": ("【督促】请求 {id}「{title}」第 {count} 次督促", "请求人第 {count} 次督促服务请求 {id}「{title}」。"
                                                              "{note_zh}"),
        "en": ("Chased: request {id} \"{title}\" ({count})", "The requester chased service request {id} "
                                                            "\"{title}\" (chase {count}).{note_en}"),
    },
    "sla_warning": {
        "zh_CN": ("【SLA {stage_zh}】请求 {id}「{title}」{task}", "服务请求 {id}「{title}」的任务「{task}」"
                                                             "{stage_text_zh}（故障级别：{level_zh}）。"),
        "en": ("SLA {stage_en}: request {id} \"{title}\" - {task}", "Task \"{task}\" of service request {id} "
                                                                   "\"{title}\" {stage_text_en} (fault level: "
                                                                   "{level_en})."),
    },
    "request_resolved": {
        "zh_CN": ("【已解决】您的请求 {id}「{title}」", "您的服务请求 {id}「{title}」已解决。"
                                                      "如问题仍然存在，请在回访时告诉我们。"),
        "en": ("Resolved: your request {id} \"{title}\"", "Your service request {id} \"{title}\" has been "
                                                         "resolved. If the problem remains, tell us when we call "
                                                         "you back."),
    },
    "reply_posted": {
        "zh_CN": ("【新回复】请求 {id}「{title}」", "{actor} 在服务请求 {id}「{title}」中回复：\n\n{excerpt}"),
        "en": ("New reply: request {id} \"{title}\"", "{actor} replied on service request {id} \"{title}\":\n\n"
                                                   "{excerpt}"),
    },
    "survey_requested": {
        "zh_CN": ("【满意度回访】请评价请求 {id}「{title}」", "您的服务请求 {id}「{title}」已处理完毕，"
                                                         "请对本次服务进行满意度评价。"),
        "en": ("How did we do? Request {id} \"{title}\"", "Your service request {id} \"{title}\" was handled; "
                                                          "please rate our service."),
    },
}
KINDS = tuple(_TEXTS)

KIND_NAMES: dict[str, tuple[str, str]] = {
    "request_opened": ("新请求", "New request"),
    "task_assigned": ("分派给我的任务", "Task assigned to me"),
    "task_released": ("退回组内的任务", "Claimed task released"),
    "request_chased": ("督促", "Request chased"),
    "sla_warning": ("SLA 预警与升级", "SLA warning and escalation"),
    "request_resolved": ("请求已解决", "Request resolved"),
    "reply_posted": ("请求的新回复", "New reply on a request"),
    "survey_requested": ("满意度回访", "Satisfaction survey"),
}

_FOOTER = {"zh_CN": "此邮件由 opsflow 自动发送，请勿直接回复。可在“通知设置”中退订此类通知。",
           "en": "This message was sent automatically by opsflow; please do not reply. You can turn this kind of "
                 "notice off in your notification settings."}
_GREETING = {"zh_CN": "您好：", "en": "Hello,"}
_LINK = {"zh_CN": "查看：{link}", "en": "Open it: {link}"}
_TITLE_LIMIT = 80


def _one_line(value: Any, limit: int = _TITLE_LIMIT) -> str:
    """User text made safe for a header or a line: no line breaks, bounded length."""
    flat = " ".join(str(value if value is not None else "").split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _locale(locale: str | None) -> str:
    return "en" if (locale or "").startswith("en") else "zh_CN"


def _fields(params: Mapping[str, Any], instance_id: int | None, number: str | None) -> dict[str, str]:
    group_zh, group_en = GROUPS.get(str(params.get("group") or ""), (params.get("group") or "—",) * 2)
    step = params.get("step")
    note = _one_line(params.get("note"), 200)
    level = params.get("fault_level")
    return {
        "id": number or (f"#{instance_id}" if instance_id else "—"), "title": _one_line(params.get("title")) or "—",
        "excerpt": _one_line(params.get("excerpt"), 300) or "—",
        "task": _one_line(params.get("task"), 60) or "—", "actor": _one_line(params.get("actor"), 100) or "—",
        "count": str(params.get("count") or 1), "group_zh": group_zh, "group_en": group_en,
        "note_zh": f"备注：{note}" if note else "", "note_en": f" Note: {note}" if note else "",
        "stage_zh": f"升级（第 {step} 级）" if step else "预警",
        "stage_en": f"escalation (step {step})" if step else "warning",
        "stage_text_zh": f"已超过时限，已升级至{group_zh}（第 {step} 级升级）" if step else "即将超过 SLA 时限",
        "stage_text_en": (f"has missed its SLA deadline and was escalated to {group_en} (step {step})" if step
                          else "is about to miss its SLA deadline"),
        "level_zh": f"{level} 级" if level else "未定级", "level_en": str(level) if level else "not graded",
    }


def subject(kind: str, params: Mapping[str, Any], *, instance_id: int | None, locale: str | None,
            number: str | None = None) -> str:
    """One line in the recipient's language: the mail's subject and the in-app list's text."""
    lang = _locale(locale)
    fields = _fields(params, instance_id, number)
    fields["group"] = fields[f"group_{'zh' if lang == 'zh_CN' else 'en'}"]
    return _TEXTS[kind][lang][0].format(**fields)


def body(kind: str, params: Mapping[str, Any], *, instance_id: int | None, locale: str | None,
         link: str | None = None, number: str | None = None) -> str:
    """The plain-text mail: greeting, what happened, the link, the footer."""
    lang = _locale(locale)
    fields = _fields(params, instance_id, number)
    fields["group"] = fields[f"group_{'zh' if lang == 'zh_CN' else 'en'}"]
    lines = [_GREETING[lang], "", _TEXTS[kind][lang][1].format(**fields)]
    if link:
        lines += ["", _LINK[lang].format(link=_one_line(link, 500))]
    lines += ["", "-- ", _FOOTER[lang]]
    return "\n".join(lines) + "\n"


def kind_name(kind: str, locale: str | None) -> str:
    zh, en = KIND_NAMES[kind]
    return en if _locale(locale) == "en" else zh
