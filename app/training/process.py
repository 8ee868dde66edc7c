"""Training in child processes: the server's side of the pipe.

A device worker thread takes an idle training process for each run (one is started with the
server, see `ProcessExecutor.warm`; more when runs train side by side), sends it the job, then
pumps the process's messages into the run's sink in order (events, weight snapshots,
checkpoints, the result) and forwards control changes (pause, resume, stop, learning rate) as
they happen. Training away from the web server's interpreter means request handling never holds
the trainer's GIL.

If the process dies (killed, out of memory) the run ends `interrupted` and can be resumed from
its last checkpoint, exactly as after a crash of the whole server.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from multiprocessing.process import BaseProcess

from app.data import Mnist
from app.data.registry import DatasetPlaces, Datasets
from app.training.control import RunControl
from app.training.job import ExecutorLostError, RunJob, RunSink
from app.training.outputs import TrainingError, TrainResult
from app.training.process_child import serve_jobs
from app.training.remote import control_state, pack_job, pump
from app.training.wire import ControlState, split_message

logger = logging.getLogger(__name__)

EXIT_SECONDS = 10.0  # how long a process may take to exit before it is killed


class TrainingProcessLostError(ExecutorLostError):
    """The training process died in the middle of a run."""


class TrainingProcess:
    """One child process that trains one run at a time for a worker thread."""

    def __init__(self, places: DatasetPlaces, mnist: Mnist | None, threads: int) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a threaded server
        self._conn, child_conn = context.Pipe(duplex=True)
        self._process: BaseProcess = context.Process(
            target=serve_jobs,
            args=(child_conn, places, mnist, threads),
            name="nnp-training",
            daemon=True,
        )
        self._process.start()
        child_conn.close()

    @property
    def pid(self) -> int | None:
        """The process id (for tests and logs)."""
        return self._process.pid

    def is_alive(self) -> bool:
        """Whether the process still runs."""
        return self._process.is_alive()

    def train(self, job: RunJob, control: RunControl, sink: RunSink) -> TrainResult:
        """Train `job` in the process; returns its result or raises why it failed."""
        bare_job, resume = pack_job(job)
        sent = control_state(control)
        self._send(("train", bare_job, resume, sent))
        return pump(job, control, sink, _PipeChannel(self, job), sent)

    def _lost(self, job: RunJob) -> TrainingProcessLostError:
        self._process.join(EXIT_SECONDS)
        code = self._process.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else "stopped"
        logger.warning("run %s: the training process %s (exit code %s)", job.run_id, how, code)
        return TrainingProcessLostError(
            f"the training process {how} during this run; resume the run from its last epoch"
        )

    def _send(self, message: object) -> None:
        with contextlib.suppress(OSError):  # it died: the pump finds out when it reads
            self._conn.send(message)

    def close(self, timeout: float = EXIT_SECONDS) -> None:
        """Ask the process to exit; kill it if it does not."""
        self._send(("exit",))
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout)
        self._conn.close()


class _PipeChannel:
    """The server's end of one run in a training process."""

    def __init__(self, process: TrainingProcess, job: RunJob) -> None:
        self._process = process
        self._job = job

    def receive(self, timeout: float) -> tuple[str, bytes] | None:
        conn = self._process._conn
        if not conn.poll(timeout):
            return None
        try:
            return split_message(conn.recv_bytes())
        except (EOFError, OSError):
            raise self._process._lost(self._job) from None

    def send_control(self, state: ControlState) -> None:
        self._process._send(("control", self._job.run_id, state))

    def reply_checkpoint(self, problem: str | None) -> None:
        self._process._send(("checkpoint_reply", problem))


class ProcessExecutor:
    """Trains each run in a training process of its own at the time: an idle one if there is
    one (see `warm`), else one started for it. A process that died is replaced."""

    def __init__(self, datasets: Datasets, threads: int) -> None:
        self._datasets = datasets
        self._threads = threads
        self._lock = threading.Lock()
        self._processes: list[TrainingProcess] = []
        self._idle: list[TrainingProcess] = []
        self._closed = False

    def warm(self) -> None:
        """Start a process now, unless one is idle, so the next run need not wait for one."""
        with self._lock:
            if self._closed or any(process.is_alive() for process in self._idle):
                return
        process = self._start()
        with self._lock:
            self._idle.append(process)

    def train(self, job: RunJob, control: RunControl, sink: RunSink) -> TrainResult:
        """Train `job` in an idle process (or a new one); it is idle again afterwards."""
        process = self._take_idle() or self._start()
        try:
            return process.train(job, control, sink)
        finally:
            self._release(process)

    def _release(self, process: TrainingProcess) -> None:
        """After a run: idle again if it lives, else let go of what is left of it."""
        with self._lock:
            if process.is_alive() and not self._closed:
                self._idle.append(process)
                return
            if process not in self._processes:
                return  # close() has it
            self._processes.remove(process)
        process.close()

    def _take_idle(self) -> TrainingProcess | None:
        """An idle process that still lives; the dead ones are tidied up on the way."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                process = self._idle.pop()
                if process.is_alive():
                    return process
                self._processes.remove(process)
            process.close()

    def _start(self) -> TrainingProcess:
        datasets = self._datasets
        process = TrainingProcess(datasets.places, datasets.preloaded_mnist(), self._threads)
        with self._lock:
            if self._closed:
                process.close()
                raise TrainingError("the server is shutting down")
            self._processes.append(process)
        return process

    def slots(self) -> int:
        """As the settings say (a process per worker thread)."""
        return 0

    def device(self) -> str | None:
        """This machine's."""
        return None

    def processes(self) -> list[TrainingProcess]:
        """The processes started so far (for tests)."""
        with self._lock:
            return list(self._processes)

    def close(self, timeout: float = EXIT_SECONDS) -> None:
        """Let every process exit (after the workers have finished their runs)."""
        with self._lock:
            self._closed = True
            processes, self._processes, self._idle = self._processes, [], []
        for process in processes:
            process.close(timeout)
