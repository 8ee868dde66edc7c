"""Training away from the server, both ends: the sink that sends, the pump that receives.

A run trained elsewhere (a training process, a Ray actor) sends its output as messages
`(kind, body)`: `event` (JSON), `snapshot` and `checkpoint` (`torch.save` bytes read with
`weights_only=True`), then `result` (JSON) or `failed` (a sentence). The server pumps them into
the run's RunSink in order, answers each checkpoint once it is on disk, and forwards control
changes as they happen. What goes back is never unpickled by the server.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from app.training.control import RunControl, StopKind, Tuning
from app.training.job import RunJob, RunSink, describe_failure
from app.training.outputs import TrainingError, TrainingState, TrainResult, WeightSnapshot
from app.training.wire import ControlState, fields_of, pack_tensors, unpack_tensors

POLL_SECONDS = 0.02  # how often a pumping worker looks at the run's control

Put = Callable[[str, bytes | Callable[[], bytes]], None]


# -- the training side ------------------------------------------------------------------------


class MessageSink:
    """A RunSink that sends the run's output as messages, in order, through `put`.

    `put(kind, body)` takes the body or a function that makes it, so the packing can happen
    on the sender's thread rather than the trainer's. Checkpoint replies arrive in `replies`.
    """

    def __init__(self, put: Put, replies: queue.Queue[str | None]) -> None:
        self._put = put
        self.replies = replies

    def emit(self, data: dict[str, Any]) -> None:
        self._put("event", lambda: json.dumps(data).encode())

    def snapshot(self, snapshot: WeightSnapshot) -> None:
        # The snapshot's tensors are copies nobody changes: they can be packed later.
        self._put("snapshot", lambda: pack_tensors(fields_of(snapshot)))

    def checkpoint(self, state: TrainingState) -> None:
        # The state holds the live weights: training waits (for the reply) until they are sent.
        self._put("checkpoint", lambda: pack_tensors(fields_of(state)))
        problem = self.replies.get()  # the server answers once it is on disk
        if problem is not None:
            raise TrainingError(problem)


def apply_control(control: RunControl, state: ControlState) -> None:
    """Bring a run's control to the state the server holds."""
    paused, stop, tuning = state
    if tuning:
        control.tune(Tuning(**tuning))
    if stop is not None:
        control.stop(StopKind(stop))
    if paused and not control.paused:
        control.pause()
    elif not paused and control.paused:
        control.resume()


def unpack_job(job: RunJob, resume: bytes | None) -> RunJob:
    """The job as sent (see `pack_job`), its resume state unpacked."""
    return job if resume is None else replace(job, resume=TrainingState(**unpack_tensors(resume)))


def result_message(result: TrainResult) -> bytes:
    """The body of a `result` message."""
    return json.dumps(fields_of(result)).encode()


# -- the server side --------------------------------------------------------------------------


class Channel(Protocol):
    """The server's end of one run trained elsewhere."""

    def receive(self, timeout: float) -> tuple[str, bytes] | None:
        """The next message, or None after `timeout` s; ExecutorLostError if the other end died."""

    def send_control(self, state: ControlState) -> None:
        """Bring the run's control to `state`."""

    def reply_checkpoint(self, problem: str | None) -> None:
        """Tell the trainer its checkpoint is saved (None) or why it is not."""


def pack_job(job: RunJob) -> tuple[RunJob, bytes | None]:
    """The job without its resume state, and that state as bytes (tensors travel as bytes)."""
    resume = None if job.resume is None else pack_tensors(fields_of(job.resume))
    return replace(job, resume=None), resume


def control_state(control: RunControl) -> ControlState:
    """The control's state; pending tuning is taken (it is handed over once)."""
    commands = control.take()
    tuning = None if commands.tuning is None else commands.tuning.changes()
    return commands.pause, None if commands.stop is None else commands.stop.value, tuning


def pump(
    job: RunJob, control: RunControl, sink: RunSink, channel: Channel, sent: ControlState
) -> TrainResult:
    """Feed the run's messages into `sink` until it ends; returns its result or raises why it
    failed. `sent`: the control state sent with the job (see `control_state`)."""
    failure: BaseException | None = None
    while True:
        sent = _forward_control(control, channel, sent)
        message = channel.receive(POLL_SECONDS)
        if message is None:
            continue
        kind, body = message
        if kind == "result":
            if failure is not None:
                raise failure
            return TrainResult(**json.loads(body))
        if kind == "failed":
            raise failure or TrainingError(body.decode())
        if failure is not None and kind != "checkpoint":
            continue  # the run is being stopped: the rest no longer matters
        try:
            if kind == "event":
                sink.emit(json.loads(body))
            elif kind == "snapshot":
                sink.snapshot(WeightSnapshot(**unpack_tensors(body)))
            elif kind == "checkpoint":
                _checkpoint(job, sink, channel, body, failure)
        except Exception as error:  # the server cannot record the run: it ends here
            failure = error
            channel.send_control((False, StopKind.INTERRUPT.value, None))


def _checkpoint(
    job: RunJob, sink: RunSink, channel: Channel, body: bytes, failure: BaseException | None
) -> None:
    """Save a checkpoint for the trainer and tell it whether that worked."""
    if failure is not None:
        channel.reply_checkpoint(describe_failure(failure, job.device, job.data_dir))
        return
    try:
        sink.checkpoint(TrainingState(**unpack_tensors(body)))
    except Exception as error:
        channel.reply_checkpoint(describe_failure(error, job.device, job.data_dir))
        raise
    channel.reply_checkpoint(None)


def _forward_control(control: RunControl, channel: Channel, sent: ControlState) -> ControlState:
    """Send the control's state when it changed since `sent`; returns what was sent."""
    if not control.pending and not sent[0] and sent[1] is None:
        return sent
    state = control_state(control)
    if state != (sent[0], sent[1], None):
        channel.send_control(state)
        return state
    return sent
