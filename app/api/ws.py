"""Websockets: a run's events (stored history, then live), and live predictions while drawing.

Every message is a JSON text frame. `/ws/runs/{id}` sends the run's events exactly as stored
(`{"seq", "type", ...}`: status, step, epoch, feature_maps, done), history first, each `seq`
larger than the one before (so `?since=` the last one seen resumes without repeats). Clients may
send `{"type": "ping"}` (answered with `{"type": "pong"}`); anything else gets
`{"type": "error", "detail": ...}` and the socket stays open.
"""

import asyncio
import contextlib
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.api.access import readable_run
from app.api.identity import Identity
from app.api.metrics import timed_prediction
from app.api.predict_input import PredictRequest, prepared_sample
from app.events import EventBus
from app.imaging import ImageError
from app.inference import NoWeightsError
from app.jsontext import json_text
from app.service import Playground
from app.store import NotFoundError

router = APIRouter()

ACCESS_RECHECK_S = 1.0  # a drawing socket re-reads who may ask a run at most once a second


def _error(detail: str) -> str:
    return json_text({"type": "error", "detail": detail})


@router.websocket("/ws/runs/{run_id}")
async def run_events(
    websocket: WebSocket,
    run_id: str,
    since: Annotated[int, Query(ge=-1, le=2**62)] = -1,
    share: Annotated[str | None, Query(max_length=64)] = None,
) -> None:
    """The run's events after `since` from the store, then its live events as they happen.

    Owners and holders of the run's share token (`?share=`) may listen; others get an error
    message and close code 4404 (4401 when they have not said who they are).
    """
    playground: Playground = websocket.app.state.playground
    bus: EventBus = websocket.app.state.bus
    identity: Identity = websocket.state.identity
    await websocket.accept()
    try:
        await run_in_threadpool(readable_run, playground, run_id, identity, share)
    except HTTPException as error:
        await websocket.send_text(_error(str(error.detail)))
        await websocket.close(code=4000 + error.status_code)
        return
    async with bus.subscribe(run_id) as subscription:
        # Subscribed first, then the history: an event in between is in both, never in neither.
        last = since
        for event in await run_in_threadpool(playground.events_since, run_id, since):
            await websocket.send_text(json_text(event))
            last = max(last, int(event["seq"]))

        async def forward() -> None:
            nonlocal last
            while True:  # every message's seq is larger than the one before
                frame = await subscription.get()
                if frame.seq <= last:
                    continue  # already sent from the history
                last = frame.seq
                await websocket.send_text(frame.text)

        await _serve_until_closed(websocket, forward(), _answer_pings)


async def _answer_pings(websocket: WebSocket, message: str) -> None:
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        data = None
    if isinstance(data, dict) and data.get("type") == "ping":
        await websocket.send_text(json_text({"type": "pong"}))
    else:
        await websocket.send_text(_error('this socket only understands {"type": "ping"}'))


async def _serve_until_closed(websocket: WebSocket, sender: Any, on_message: Any) -> None:
    """Run `sender` while reading client messages; stop both when the client goes away."""
    sending = asyncio.create_task(sender)
    try:
        while True:
            reading = asyncio.create_task(websocket.receive())
            done, _ = await asyncio.wait({reading, sending}, return_when=asyncio.FIRST_COMPLETED)
            if sending in done:
                reading.cancel()
                sending.result()  # re-raise what ended the sender
                return
            try:
                message = reading.result()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await websocket.send_text(_error("send JSON text frames, not binary ones"))
                continue
            await on_message(websocket, text)
    except WebSocketDisconnect:
        return
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await sending


@router.websocket("/ws/predict")
async def live_predictions(websocket: WebSocket) -> None:
    """Predict each drawing the client sends; a burst of drawings coalesces to the newest.

    Send `{"run_id", "pixels" | "image", "activations"?: bool, "id"?: str | int, "share"?: str}`
    (`share`: the token of a run shared by link); the answer is
    `{"type": "prediction", "run_id", "id", "prediction", "probabilities", "input", ...}` or
    `{"type": "error", "detail"}`.
    """
    playground: Playground = websocket.app.state.playground
    identity: Identity = websocket.state.identity
    await websocket.accept()
    newest: dict[str, Any] | None = None
    arrived = asyncio.Event()
    granted = _Granted()

    async def answer() -> None:
        nonlocal newest
        while True:
            await arrived.wait()
            arrived.clear()
            request, newest = newest, None
            if request is not None:
                answer = await _predict(websocket, playground, identity, granted, request)
                await websocket.send_text(json_text(answer))

    async def take(websocket: WebSocket, message: str) -> None:
        nonlocal newest
        try:
            data = json.loads(message)
        except (ValueError, RecursionError):
            await websocket.send_text(_error("messages are JSON objects"))
            return
        if not isinstance(data, dict):
            await websocket.send_text(_error("messages are JSON objects"))
            return
        newest = data
        arrived.set()

    await _serve_until_closed(websocket, answer(), take)


class _Granted:
    """The runs one drawing socket may ask, each with when that was last read from the store.

    A drawing sends a frame per animation frame; reading the run's record for each cost a
    store query. A revoked share link or a deleted run is still noticed within
    ACCESS_RECHECK_S. Used by one prediction at a time (the socket's answers are sequential).
    """

    def __init__(self) -> None:
        self._checked: dict[tuple[str, str | None], float] = {}

    def check(
        self, playground: Playground, run_id: str, identity: Identity, share: str | None
    ) -> None:
        """Raise readable_run's HTTPException unless the run was readable a moment ago."""
        key = (run_id, share)
        now = time.monotonic()
        if now - self._checked.get(key, -ACCESS_RECHECK_S) < ACCESS_RECHECK_S:
            return
        self._checked.pop(key, None)
        readable_run(playground, run_id, identity, share)
        if len(self._checked) > 16:  # a page asks one run at a time; keep it small
            self._checked.clear()
        self._checked[key] = now


async def _predict(
    websocket: WebSocket,
    playground: Playground,
    identity: Identity,
    granted: _Granted,
    data: dict[str, Any],
) -> dict[str, Any]:
    with timed_prediction(websocket.app, "websocket"):
        answer = await run_in_threadpool(_predict_now, playground, identity, granted, data)
    if isinstance(data.get("id"), str | int):
        answer["id"] = data["id"]  # lets the client match answers to its drawings
    return answer


def _predict_now(
    playground: Playground, identity: Identity, granted: _Granted, data: dict[str, Any]
) -> dict[str, Any]:
    """Decode, prepare and classify one drawing (in a worker thread: it is CPU work)."""
    run_id = data.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        return {"type": "error", "detail": "run_id: which run's model should answer"}
    activations = data.get("activations", False) is True
    share = data.get("share")
    try:
        granted.check(playground, run_id, identity, share if isinstance(share, str) else None)
    except HTTPException as error:
        return {"type": "error", "run_id": run_id, "detail": str(error.detail)}
    try:
        request = PredictRequest.model_validate(
            {key: data[key] for key in ("pixels", "image", "prepare") if key in data}
        )
        sample = prepared_sample(request, playground.run_dataset(run_id))
        prediction = playground.predict(run_id, sample, activations)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        return {"type": "error", "run_id": run_id, "detail": f"{where}: {first['msg']}"}
    except (ImageError, NoWeightsError, NotFoundError) as error:
        return {"type": "error", "run_id": run_id, "detail": str(error)}
    return {"type": "prediction", "run_id": run_id, **prediction.to_dict()}
