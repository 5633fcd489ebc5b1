"""Channels: phone, SMS, WeChat, email, web, Open311 and the approval platform."""
