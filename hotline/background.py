"""What runs in the background of a process: outbound delivery, the supervision sweep, routing proposals,
knowledge-base answers and proposals."""

from __future__ import annotations

from hotline.calls.tasks import call_queue_job
from hotline.channels import app as channels
from hotline.config import Settings
from hotline.db import Database
from hotline.events.bus import EventBus
from hotline.jobs import JobRunner
from hotline.outbox.providers import InAppProvider, Provider
from hotline.outbox.tasks import outbox_job
from hotline.supervision.tasks import sla_sweep_job
from hotline.surveys.tasks import survey_job
from knowledge_base.live_index import LiveIndex
from knowledge_base.platform.provider import PLATFORM_CHANNEL, PlatformResultProvider
from knowledge_base.tasks import auto_answer_job, proposal_job
from routing.tasks import classify_job


def providers_for(settings: Settings, bus: EventBus) -> dict[str, Provider]:
    """The delivery adapter of every outbound channel: SMS, WeChat, email, and the staff app."""
    return {
        **channels.build_providers(settings, bus),
        "app": InAppProvider(bus),
        PLATFORM_CHANNEL: PlatformResultProvider(settings),
    }


def job_runner(
    settings: Settings, db: Database, providers: dict[str, Provider], kb_index: LiveIndex | None = None
) -> JobRunner:
    """The periodic jobs of this process; the knowledge-base jobs share ``kb_index`` (the process's own, if given)."""
    index = kb_index or LiveIndex(db, settings.kb_index_poll_seconds)
    return JobRunner(
        db,
        [
            outbox_job(db, providers, settings.outbox_poll_seconds, settings.outbox_lease_seconds),
            sla_sweep_job(db, settings.sla_sweep_seconds),
            survey_job(db, settings),
            classify_job(db, settings),
            call_queue_job(db, settings),
            auto_answer_job(db, settings, index),
            proposal_job(db, settings, index),
        ],
    )
