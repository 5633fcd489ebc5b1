"""Several server processes on one port, each listening on a socket of its own (``SO_REUSEPORT``).

uvicorn's own ``--workers`` shares one listening socket among its processes, and whichever wakes first
accepts: long-lived keep-alive connections (a gateway's, a proxy's, a benchmark's) pile up on one of them,
33 and 17 of 50 in the intake benchmark, and the busier process's requests wait twice as long. With a
socket each, the kernel spreads new connections over the processes evenly by their addresses.

The supervisor starts the processes, starts another when one exits, and on SIGINT or SIGTERM stops them
all (each finishes its requests in flight, as uvicorn does on SIGTERM). A process that fails its own
startup (uvicorn's exit code 3: a bad setting, a database it cannot reach) stops the whole server instead
of being restarted forever.

A process that hangs (its event loop blocked, or the process stopped) would keep its listening socket,
and the kernel would go on handing it its share of new connections, never answered. Each process's event
loop therefore beats into memory shared with the supervisor every second; one silent for longer than
``worker_timeout`` seconds is killed and replaced.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

log = logging.getLogger("uvicorn.error")

STARTUP_FAILURE = 3  # uvicorn's exit code when a server cannot start
ADDRESS_IN_USE = 1  # as uvicorn exits when its port is taken
STOP_SECONDS = 30  # a process still running this long after SIGTERM is killed
CHECK_SECONDS = 0.5  # how often the supervisor looks for a stop request between process exits
BEAT_SECONDS = 1.0  # how often a process's event loop shows it is alive
WORKER_TIMEOUT_SECONDS = 30.0  # a process silent this long is hung: killed and replaced
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` that other processes may bind too (not listening yet)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _port_free(host: str, port: int) -> bool:
    """Whether no other server listens on ``host:port``, checked without ``SO_REUSEPORT``.

    A socket with ``SO_REUSEPORT`` would bind next to another server of the same user and silently share
    its traffic: a second ``hotline serve`` started by mistake must fail instead, as it did before.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections closing on it do not count
        try:
            probe.bind((host, port))
        except OSError as error:
            log.error("Cannot serve on %s:%s: %s", host, port, error.strerror or error)
            return False
    return True


class _BeatingServer(uvicorn.Server):
    """uvicorn's server, whose event loop writes the time into its slot of the shared beats while it runs."""

    def __init__(self, config: uvicorn.Config, beats: Any, slot: int) -> None:
        super().__init__(config)
        self._beats, self._slot = beats, slot

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        beating = asyncio.create_task(self._beat())
        try:
            await super().serve(sockets)
        finally:
            beating.cancel()

    async def _beat(self) -> None:
        while True:
            self._beats[self._slot] = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
            await asyncio.sleep(BEAT_SECONDS)


def _serve_one(options: dict[str, Any], beats: Any, slot: int) -> None:
    """One server process: uvicorn on a listening socket of its own."""
    config = uvicorn.Config(**options)
    sock = reuse_port_socket(config.host, config.port)
    sock.listen(config.backlog)
    _BeatingServer(config, beats, slot).run(sockets=[sock])


def serve_processes(options: dict[str, Any], processes: int, worker_timeout: float = WORKER_TIMEOUT_SECONDS) -> int:
    """Run ``processes`` uvicorn servers (``options``: ``uvicorn.Config``'s) on one port; the exit code."""
    config = uvicorn.Config(**options)  # configures logging here as in each process
    if not _port_free(config.host, config.port):
        return ADDRESS_IN_USE
    # Bound but not listening: the port stays this server's while processes come and go, and no connection
    # is queued on it (the kernel hands connections only to the listening sockets of the group).
    reserved = reuse_port_socket(config.host, config.port)
    context = multiprocessing.get_context("spawn")
    beats = context.Array("d", processes, lock=False)  # each slot: its process's last beat (0: none yet)
    stopping: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _frame: stopping.append(number)) for sig in _STOP_SIGNALS}

    def start(slot: int) -> BaseProcess:
        beats[slot] = 0.0  # starting up (the application's startup may take a while) is not hanging
        process = context.Process(target=_serve_one, args=(options, beats, slot), name="hotline-serve")
        process.start()
        log.info("Started server process [%s]", process.pid)
        return process

    running = [start(slot) for slot in range(processes)]
    log.info("Serving on http://%s:%s with %d processes, a listening socket each", config.host, config.port, processes)
    code = 0
    try:
        while not stopping:
            wait([process.sentinel for process in running], timeout=CHECK_SECONDS)
            for index, process in enumerate(running):
                if process.is_alive() and 0 < beats[index] < time.monotonic() - worker_timeout:
                    log.error("Server process [%s] hung for %.0f s; killing it", process.pid, worker_timeout)
                    process.kill()
                    process.join()
                if process.is_alive() or stopping:
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("Server process [%s] could not start; stopping", process.pid)
                    stopping.append(signal.SIGTERM)
                    code = STARTUP_FAILURE
                    break
                log.warning("Server process [%s] exited (%s); starting another", process.pid, process.exitcode)
                running[index] = start(index)
    finally:
        _stop(running)
        reserved.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _stop(running: list[BaseProcess]) -> None:
    for process in running:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits
    for process in running:
        process.join(STOP_SECONDS)
        if process.is_alive():
            log.warning("Server process [%s] did not stop in %d s; killing it", process.pid, STOP_SECONDS)
            process.kill()
            process.join()
