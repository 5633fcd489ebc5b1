"""What callers hear (Mandarin). No menu stands between a caller and an operator (GB/T 33358)."""

from __future__ import annotations

LANGUAGE = "zh-CN"

GREETING = "您好，欢迎致电12345政务服务便民热线，正在为您接通人工服务，请稍候。"
AFTER_HOURS = "您好，这里是12345政务服务便民热线。现在是非人工服务时间，人工服务时间为{hours}。"
OVERFLOW = "当前来电较多，让您久等了。"
LEAVE_MESSAGE = "请在提示音后留下您的诉求和联系电话，按井号键结束，我们将尽快处理并给您回电。"
NO_MESSAGE = "没有收到您的留言，我们将尽快给您回电，再见。"
THANKS_FOR_MESSAGE = "您的留言已收到，我们将尽快处理并给您回电，再见。"
POSITION = "您前面还有{ahead}位来电，请耐心等候。"
NEXT_IN_LINE = "您是下一位，请稍候。"
CONNECTING = "正在为您接通，请稍候。"
GOODBYE = "感谢您的来电，再见。"
CALL_BACK_WHISPER = "正在为您回拨漏接来电，请稍候。"
# The database cannot be reached: the call is put through to the backup line, or the caller asked to call again.
OUTAGE_FORWARDING = "您好，欢迎致电12345政务服务便民热线，正在为您转接，请稍候。"
OUTAGE_CALL_AGAIN = "您好，这里是12345政务服务便民热线。系统正在维护，暂时无法接通人工服务，请稍后再拨，敬请谅解。"

VOICEMAIL_TITLE = "电话留言"
VOICEMAIL_BODY = "电话留言（录音{seconds}秒）：{url}"


def position(ahead: int) -> str:
    """How many callers are before this one."""
    return NEXT_IN_LINE if ahead <= 0 else POSITION.format(ahead=ahead)
