"""The hotline's own hold tone: a calm eight-note phrase, made once in memory (no file from elsewhere)."""

from __future__ import annotations

import io
import math
import wave
from functools import cache

RATE = 8000  # telephone quality is all a caller hears
NOTE_SECONDS = 0.6
REST_SECONDS = 0.15
VOLUME = 0.25
PHRASE_HZ = (392.0, 440.0, 523.25, 587.33, 523.25, 440.0, 392.0, 329.63)  # G A C D C A G E
REPEATS = 3


def _note(hz: float) -> list[int]:
    count = int(RATE * NOTE_SECONDS)
    fade = int(RATE * 0.05)
    samples = []
    for i in range(count):
        envelope = min(1.0, i / fade, (count - i) / fade)
        samples.append(int(32767 * VOLUME * envelope * math.sin(2 * math.pi * hz * i / RATE)))
    return samples + [0] * int(RATE * REST_SECONDS)


@cache
def wav() -> bytes:
    """The hold tone as a 16-bit mono WAV file (about 17 seconds)."""
    frames = [s for _ in range(REPEATS) for hz in PHRASE_HZ for s in _note(hz)]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(s.to_bytes(2, "little", signed=True) for s in frames))
    return buffer.getvalue()
