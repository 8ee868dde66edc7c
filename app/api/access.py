"""Who may see and control which models, runs and uploaded datasets: their owner, and holders
of a shared link.

Someone else's model, run or dataset answers 404 (422 in a run's config), exactly like one
that does not exist, so ids cannot be probed.
"""

import hmac
from typing import Annotated

from fastapi import HTTPException, Query

from app.api.identity import Identity
from app.data.registry import is_upload_id
from app.service import Playground
from app.store import DatasetRecord, ModelRecord, RunRecord
from app.training import ConfigError


def owned_model(playground: Playground, model_id: str, identity: Identity) -> ModelRecord:
    """The model if this person owns it (anyone in single-user mode), else 404."""
    record = playground.model(model_id)
    if record is None or not identity.owns(record.owner):
        raise HTTPException(404, f"no model with id '{model_id}'")
    return record


def readable_model(
    playground: Playground, model_id: str, identity: Identity, share: str | None
) -> ModelRecord:
    """The model if this person owns it, holds the share token of one of its runs, or it is the
    starter run's model, else 404."""
    record = playground.model(model_id)
    if record is not None and not identity.owns(record.owner):
        run = playground.shared_run(share) if share else None
        shared = run is not None and run.model_id == model_id
        if not shared and not playground.runs(model_id, with_starters=True):
            record = None
    if record is None:
        raise HTTPException(404, f"no model with id '{model_id}'")
    return record


DatasetShareQuery = Annotated[
    str | None,
    Query(max_length=64, description="the token of an uploaded dataset shared by link"),
]


def owned_dataset(playground: Playground, dataset_id: str, identity: Identity) -> DatasetRecord:
    """The uploaded dataset if this person owns it (anyone in single-user mode), else 404."""
    record = playground.dataset_record(dataset_id)
    if record is None or not identity.owns(record.owner):
        raise HTTPException(404, f"no dataset with id '{dataset_id}'")
    return record


def readable_dataset(
    playground: Playground, dataset_id: str, identity: Identity, share: str | None
) -> DatasetRecord:
    """The uploaded dataset if this person owns it or `share` is its share token, else 404
    (401 for nobody)."""
    record = playground.dataset_record(dataset_id)
    if record is not None and (
        identity.owns(record.owner) or dataset_shared_with(playground, dataset_id, share)
    ):
        return record
    raise _unreadable(identity, share, f"no dataset with id '{dataset_id}'")


def usable_dataset(
    playground: Playground, config: object, identity: Identity, share: str | None = None
) -> None:
    """422 if a run's config names an uploaded dataset that is neither this person's nor
    opened by `share`, its share token (as if it did not exist); the config is checked fully
    later."""
    dataset = config.get("dataset") if isinstance(config, dict) else None
    if isinstance(dataset, str) and is_upload_id(dataset):
        record = playground.dataset_record(dataset)
        if record is None or not (
            identity.owns(record.owner) or dataset_shared_with(playground, dataset, share)
        ):
            raise ConfigError([("dataset", f"no dataset '{dataset}'")])


def dataset_shared_with(playground: Playground, dataset_id: str, share: str | None) -> bool:
    """Whether `share` is the uploaded dataset's current share token."""
    shared = playground.shared_dataset(share) if share else None
    return shared is not None and shared.id == dataset_id


def owned_run(playground: Playground, run_id: str, identity: Identity) -> RunRecord:
    """The run if this person owns it and so may control it, else 404."""
    record = playground.run(run_id)
    if record is None or not identity.owns(record.owner):
        raise HTTPException(404, f"no run with id '{run_id}'")
    return record


def readable_run(
    playground: Playground, run_id: str, identity: Identity, share: str | None
) -> RunRecord:
    """The run if this person owns it or holds its share token, or it is the starter run, else
    404 (401 for nobody)."""
    record = playground.run(run_id)
    if record is not None and (
        record.starter or identity.owns(record.owner) or shared_with(record, share)
    ):
        return record
    raise _unreadable(identity, share, f"no run with id '{run_id}'")


def _unreadable(identity: Identity, share: str | None, missing: str) -> HTTPException:
    """401 for nobody (no identity, no share token), else 404 saying `missing`: what another
    person owns is answered as if it did not exist."""
    if identity.user_id is None and not share:
        return HTTPException(
            401,
            "who are you? open the playground in a browser, or send a bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return HTTPException(404, missing)


def shared_with(record: RunRecord, share: str | None) -> bool:
    """Whether `share` is the run's current share token."""
    if not share or record.share_token is None:
        return False
    return hmac.compare_digest(share.encode(), record.share_token.encode())
