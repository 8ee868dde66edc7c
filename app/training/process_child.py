"""Inside a training process: take jobs from the server over a pipe, train, send everything back.

The process has one reader thread and one training thread (the main one). The reader takes
every message from the server: jobs go to a queue, control changes go to the running run's
`RunControl` at once, replies to checkpoints go to a queue the trainer waits on. If the pipe
closes (the server died, even by kill -9) the process exits at once: the server's next start
marks the run interrupted, as it would a run of its own.

What goes back is never unpickled by the server (see app.training.remote for the messages).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

from app.data import Mnist
from app.data.registry import DEFAULT_DATASET, DatasetPlaces, Datasets
from app.startup_gc import freeze_startup_objects
from app.training.control import RunControl
from app.training.device import configure_threads
from app.training.job import RunJob, describe_failure
from app.training.optim import load_optimizer_code
from app.training.remote import MessageSink, apply_control, result_message, unpack_job
from app.training.tasks import train_job
from app.training.wire import join_message

logger = logging.getLogger(__name__)


class _Inbox:
    """The reader thread's side: routes the server's messages as they come.

    A job's control is made here, before the next message is read, so a pause or stop sent
    right after the job always finds it (the reader alone touches it).
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._jobs: queue.Queue[tuple[RunJob, bytes | None, RunControl] | None] = queue.Queue()
        self.replies: queue.Queue[str | None] = queue.Queue()
        self._run_id: str | None = None
        self._control = RunControl()
        threading.Thread(target=self._read, name="training-inbox", daemon=True).start()

    def next_job(self) -> tuple[RunJob, bytes | None, RunControl] | None:
        """The next job with its control (None: the server asked this process to exit)."""
        return self._jobs.get()

    def _read(self) -> None:
        try:
            while True:
                message = self._conn.recv()
                kind = message[0]
                if kind == "train":
                    job, resume, initial = message[1:]
                    self._run_id, self._control = job.run_id, RunControl()
                    apply_control(self._control, initial)
                    self._jobs.put((job, resume, self._control))
                elif kind == "control" and message[1] == self._run_id:
                    apply_control(self._control, message[2])
                elif kind == "checkpoint_reply":
                    self.replies.put(message[1])
                elif kind == "exit":
                    self._jobs.put(None)
                    return
        except (EOFError, OSError):
            os._exit(0)  # the server is gone: nobody is left to train for


class _Outbox:
    """Sends to the server from a thread of its own: training never waits for the pipe (a
    busy server reads it late), and packing happens off the training thread."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._queue: queue.Queue[tuple[str, bytes | Callable[[], bytes]]] = queue.Queue()
        threading.Thread(target=self._send_all, name="training-outbox", daemon=True).start()

    def put(self, kind: str, body: bytes | Callable[[], bytes]) -> None:
        """Send `kind` with `body` (or what `body()` makes), after everything put before it."""
        self._queue.put((kind, body))

    def flush(self) -> None:
        """Wait until everything put so far is sent."""
        self._queue.join()

    def _send_all(self) -> None:
        while True:
            kind, body = self._queue.get()
            try:
                packed = body if isinstance(body, bytes) else body()
                self._conn.send_bytes(join_message(kind, packed))
            except OSError:
                os._exit(0)  # the server is gone
            finally:
                self._queue.task_done()


def serve_jobs(conn: Connection, places: DatasetPlaces, mnist: Mnist | None, threads: int) -> None:
    """The training process's main function: train jobs until told to exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the server's to handle
    _own_scheduling_group()
    configure_threads(threads)
    inbox = _Inbox(conn)
    outbox = _Outbox(conn)
    sink = MessageSink(outbox.put, inbox.replies)
    datasets = Datasets(places, mnist)
    # Loaded before the first job comes (the inbox already routes messages meanwhile), so a
    # process started ahead of time trains at once. A failure is the job's to report if it
    # needs MNIST (it loads again then).
    load_optimizer_code()
    with contextlib.suppress(Exception):
        datasets.load(DEFAULT_DATASET)
    freeze_startup_objects()
    while (item := inbox.next_job()) is not None:
        job, resume, control = item
        try:
            job = unpack_job(job, resume)
            result = train_job(job, datasets.load(job.config.dataset), control, sink)
        except Exception as error:
            logger.debug("run %s failed", job.run_id, exc_info=True)
            reason = describe_failure(error, job.device, job.data_dir)
            outbox.put("failed", reason.encode())
        else:
            outbox.put("result", result_message(result))
    outbox.flush()
    conn.close()


def _own_scheduling_group() -> None:
    """Start a session of its own. Where the kernel groups sessions for CPU time (Linux's
    autogroup, on by default), training then keeps its fair share of the CPU against the web
    server however many request threads are busy; it also leaves the terminal's signals to
    the server (the process exits when the server's end of the pipe closes)."""
    with contextlib.suppress(AttributeError, OSError):  # not POSIX, or already a leader
        os.setsid()
