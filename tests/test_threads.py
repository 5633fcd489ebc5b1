"""CPU-heavy work in a worker thread: threads switch often meanwhile, and the process's setting comes back."""

from __future__ import annotations

import sys

import pytest

from hotline import threads


def test_overlapping_builds_keep_threads_switching_often_until_the_last_one_ends() -> None:
    default = sys.getswitchinterval()
    first, second = threads.short_switch_interval(), threads.short_switch_interval()
    first.__enter__()
    second.__enter__()  # an export during an index build
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == pytest.approx(threads.WORKER_SWITCH_INTERVAL)
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == default


async def test_work_in_a_worker_thread_returns_its_result_and_restores_the_setting() -> None:
    default = sys.getswitchinterval()
    seen = await threads.in_worker_thread(lambda n: (n * 2, sys.getswitchinterval()), 21)
    assert seen == (42, pytest.approx(threads.WORKER_SWITCH_INTERVAL)) and sys.getswitchinterval() == default
    with pytest.raises(ZeroDivisionError):
        await threads.in_worker_thread(lambda: 1 / 0)
    assert sys.getswitchinterval() == default
