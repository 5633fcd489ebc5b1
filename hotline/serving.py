"""Several server processes on one port, each listening on a socket of its own (``SO_REUSEPORT``).

uvicorn's own ``--workers`` shares one listening socket among its processes, and whichever wakes first
accepts: long-lived keep-alive connections (a gateway's, a proxy's, a benchmark's) pile up on one of them,
33 and 17 of 50 in the intake benchmark, and the busier process's requests wait twice as long. With a
socket each, the kernel spreads new connections over the processes evenly by their addresses.

The supervisor starts the processes, starts another when one exits, and on SIGINT or SIGTERM stops them
all (each finishes its requests in flight, as uvicorn does on SIGTERM). A process that fails its own
startup (uvicorn's exit code 3: a bad setting, a database it cannot reach) stops the whole server instead
of being restarted forever.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("uvicorn.error")

STARTUP_FAILURE = 3  # uvicorn's exit code when a server cannot start
ADDRESS_IN_USE = 1  # as uvicorn exits when its port is taken
STOP_SECONDS = 30  # a process still running this long after SIGTERM is killed
CHECK_SECONDS = 0.5  # how often the supervisor looks for a stop request between process exits
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


def _serve_one(options: dict[str, Any]) -> None:
    """One server process: uvicorn on a listening socket of its own."""
    import uvicorn

    config = uvicorn.Config(**options)
    sock = reuse_port_socket(config.host, config.port)
    sock.listen(config.backlog)
    uvicorn.Server(config).run(sockets=[sock])


def serve_processes(options: dict[str, Any], processes: int) -> int:
    """Run ``processes`` uvicorn servers (``options``: ``uvicorn.Config``'s) on one port; the exit code."""
    import uvicorn

    config = uvicorn.Config(**options)  # configures logging here as in each process
    if not _port_free(config.host, config.port):
        return ADDRESS_IN_USE
    # Bound but not listening: the port stays this server's while processes come and go, and no connection
    # is queued on it (the kernel hands connections only to the listening sockets of the group).
    reserved = reuse_port_socket(config.host, config.port)
    context = multiprocessing.get_context("spawn")
    stopping: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _frame: stopping.append(number)) for sig in _STOP_SIGNALS}

    def start() -> BaseProcess:
        process = context.Process(target=_serve_one, args=(options,), name="hotline-serve")
        process.start()
        log.info("Started server process [%s]", process.pid)
        return process

    running = [start() for _ in range(processes)]
    log.info("Serving on http://%s:%s with %d processes, a listening socket each", config.host, config.port, processes)
    code = 0
    try:
        while not stopping:
            wait([process.sentinel for process in running], timeout=CHECK_SECONDS)
            for index, process in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("Server process [%s] could not start; stopping", process.pid)
                    stopping.append(signal.SIGTERM)
                    code = STARTUP_FAILURE
                    break
                log.warning("Server process [%s] exited (%s); starting another", process.pid, process.exitcode)
                running[index] = start()
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
