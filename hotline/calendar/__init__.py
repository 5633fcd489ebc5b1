"""Working-time calendar: official holidays, business hours and work-order deadlines."""

from hotline.calendar.holidays import HolidaySchedule
from hotline.calendar.working_time import (
    CHINA_TZ,
    BusinessHours,
    TimeLimit,
    TimeUnit,
    WorkingCalendar,
    to_china_time,
)

__all__ = [
    "CHINA_TZ",
    "BusinessHours",
    "HolidaySchedule",
    "TimeLimit",
    "TimeUnit",
    "WorkingCalendar",
    "to_china_time",
]
