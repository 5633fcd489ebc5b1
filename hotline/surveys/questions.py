"""What the citizen is asked and told, on each channel (Chinese, as citizens read it)."""

from __future__ import annotations

from typing import Any

from hotline.surveys.parsing import (
    RESOLVED_LABELS_ZH,
    SATISFACTION_BY_DIGIT,
    SATISFACTION_LABELS_ZH,
    Question,
    Satisfaction,
)

RESOLVED_CHOICES = "1已解决，2未解决"
SATISFACTION_CHOICES = "，".join(f"{d}{SATISFACTION_LABELS_ZH[s]}" for d, s in SATISFACTION_BY_DIGIT.items())


def text_question(number: str, attempt: int) -> str:
    """The survey by SMS (and the text of every other channel's): both questions, answered with two digits."""
    head = "【12345回访】" if attempt <= 1 else "【12345回访提醒】"
    return (
        f"{head}您反映的问题（工单号{number}）已办理完毕。请回复两个数字评价："
        f"第一个表示问题是否解决（{RESOLVED_CHOICES}），第二个表示满意度（{SATISFACTION_CHOICES}），"
        "例如回复“12”；也可附上您的意见。"
    )


def wechat_menu(number: str) -> dict[str, Any]:
    """A customer-service menu message (msgmenu): a tap sends the choice back as the citizen's text."""
    return {
        "head_content": f"【12345回访】您反映的问题（工单号{number}）已办理完毕，请问问题是否已解决？",
        "list": [{"id": f"resolved_{d}", "content": RESOLVED_LABELS_ZH[v]} for d, v in ((1, True), (2, False))],
        "tail_content": "点击选项即可回复，也可直接发送您的意见。",
    }


def ask_missing(question: Question) -> str:
    """The follow-up when one answer is still missing."""
    if question is Question.RESOLVED:
        return f"感谢您的评价。请问您反映的问题是否已解决？请回复：{RESOLVED_CHOICES}。"
    return f"已记录。请问您对办理结果是否满意？请回复：{SATISFACTION_CHOICES}。"


def ask_again() -> str:
    """When an answer could not be read."""
    return f"抱歉，未能识别您的回复。请回复两个数字：是否解决（{RESOLVED_CHOICES}），满意度（{SATISFACTION_CHOICES}）。"


THANKS = "感谢您的评价！您的意见将帮助我们改进工作。"
THANKS_BAD = "感谢您的评价，我们已记录您的意见，将核实后尽快处理。"
FREE_TEXT_RECEIVED = "您的意见已收到，工作人员将尽快核实处理。"
ALREADY_ANSWERED = "您已完成本次评价，感谢您的支持！"
SURVEY_ENDED = "本次回访已结束，未能记录您的评价。如问题仍未解决，请拨打12345或直接发送您的诉求。"


def thanks(satisfaction: Satisfaction | None) -> str:
    """The closing words of a complete answer."""
    return THANKS_BAD if satisfaction in (Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED) else THANKS


def rework_notice(number: str) -> str:
    """To the citizen when a supervisor judged their bad rating reasonable."""
    return f"【12345】您对工单{number}的评价经核实，已要求承办单位重新办理，办理结果将再次告知您。"


# Automated voice call (TwiML <Say>, keypad answers).
VOICE_GREETING = "您好，这里是12345政务服务便民热线回访。您近期反映的问题已办理完毕。"
VOICE_PROMPTS = {
    Question.RESOLVED: "问题已解决请按1，未解决请按2。",
    Question.SATISFACTION: (
        "请对办理结果进行评价：非常满意请按1，满意请按2，基本满意请按3，不满意请按4，非常不满意请按5。"
    ),
}
VOICE_NOT_UNDERSTOOD = "抱歉，按键无效。"
VOICE_NO_INPUT = "没有收到您的按键。感谢您的接听，再见。"
VOICE_THANKS = "感谢您的评价，再见。"
VOICE_ENDED = "本次回访已结束，感谢您的接听，再见。"
