"""The datasets a run can train on (a run's config names one in `dataset`), and uploads,
which their owner may share by link."""

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.api.access import DatasetShareQuery, owned_dataset, readable_dataset
from app.api.deps import IdentityDep, PlaygroundDep, UserDep
from app.api.errors import invalid_input
from app.data.dataset import TaskKind
from app.data.registry import DatasetInfo
from app.data.uploads import UploadOptions
from app.store import DatasetRecord

router = APIRouter(prefix="/api", tags=["datasets"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such dataset of yours"}}


class DatasetShareLink(BaseModel):
    """A link to an upload: whoever has it may read the dataset and train runs on it."""

    share_token: str
    url: str


@router.get("/datasets")
def list_datasets(playground: PlaygroundDep, user: UserDep) -> list[dict[str, Any]]:
    """Every dataset: `name` (what a run's config names), `title`, `kind` (classification or
    regression), `input_shape`, `classes` (names, in label order), `outputs` (what a model's
    last layer must give), `splits` sizes, `source` (built-in, generated or upload),
    `available` (with a `note` on how to add it when not) and, for the 2-D problems, the
    default `params` a run may change (`{"dataset": {"name": "spiral", "noise": 0.1}}`).
    Uploads also carry `share`: their link (see POST /api/datasets/{id}/share) or null.
    In shared mode the uploads listed are the caller's own (not those shared with them)."""
    owner = user.user_id if user.shared else None
    records = {record.id: record for record in playground.dataset_records(owner)}
    return [_entry(info, records.get(info.name)) for info in playground.datasets(owner)]


@router.post(
    "/datasets",
    status_code=status.HTTP_201_CREATED,
    responses={
        413: {"description": "The upload is larger than NNP_MAX_UPLOAD_BYTES"},
        422: {"description": "The file is not a usable ZIP of class folders or CSV"},
    },
)
async def upload_dataset(
    playground: PlaygroundDep,
    user: UserDep,
    file: Annotated[UploadFile, File(description="a ZIP of class folders of images, or a CSV")],
    name: Annotated[str, Form(min_length=1, max_length=100)],
    size: Annotated[
        str, Form(description='images\' size: "28x28" (default), "HxW", or "auto"')
    ] = "28x28",
    channels: Annotated[int, Form(ge=1, le=3, description="1: grey (default), 3: RGB")] = 1,
    label: Annotated[str | None, Form(description="a CSV's label column (default: last)")] = None,
    task: Annotated[
        Literal["classification", "regression"] | None,
        Form(description="a CSV's task (default: decided by its labels)"),
    ] = None,
    seed: Annotated[int, Form(ge=0, le=2**31 - 1, description="the split's shuffle")] = 0,
) -> dict[str, Any]:
    """Upload a dataset: a ZIP of class folders of images (`cat/001.png`, `dog/002.jpg`, like
    torchvision's ImageFolder) or a CSV with a header, numeric feature columns and a label
    column. It is converted once, split 80/10/10 into train/validation/test by `seed`, and kept;
    a run then names it by the returned `name` (`"dataset": "ds_…"`). Private to its owner in
    shared mode, until shared by link. Bad files get 422 (413 when too large) saying what is
    wrong and where."""
    if channels not in (1, 3):
        raise invalid_input(["body", "channels"], f"1 (grey) or 3 (RGB), got {channels}")
    options = UploadOptions(
        size=_size(size),
        channels=1 if channels == 1 else 3,
        label=label or None,
        task=TaskKind(task) if task else None,
        seed=seed,
    )
    try:
        info = await run_in_threadpool(
            playground.upload_dataset, file.file, name, options, user.owner
        )
    finally:
        await file.close()
    return {**info.to_dict(), "share": None}


@router.get("/datasets/{dataset_id}", responses=_NOT_FOUND)
def read_dataset(
    dataset_id: str,
    playground: PlaygroundDep,
    identity: IdentityDep,
    share: DatasetShareQuery = None,
) -> dict[str, Any]:
    """One uploaded dataset (what GET /api/datasets lists for it). Someone else's is read with
    `?share=` its share token; its `share` link is then left out."""
    record = readable_dataset(playground, dataset_id, identity, share)
    info = playground.dataset_info(dataset_id)
    return _entry(info, record) if identity.owns(record.owner) else info.to_dict()


@router.post("/datasets/{dataset_id}/share", responses=_NOT_FOUND)
def share_dataset(dataset_id: str, playground: PlaygroundDep, user: UserDep) -> DatasetShareLink:
    """A new link to your upload (an older link stops working). Whoever holds it may read the
    dataset (`GET /api/datasets/{id}?share=TOKEN`) and train on it: `POST /api/runs` with
    `"dataset": "ds_…"` in the config and `?dataset_share=TOKEN`. The link opens the datasets
    page on it."""
    owned_dataset(playground, dataset_id, user)
    return _link(playground.share_dataset(dataset_id, on=True))


@router.delete(
    "/datasets/{dataset_id}/share", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND
)
def unshare_dataset(dataset_id: str, playground: PlaygroundDep, user: UserDep) -> Response:
    """Stop sharing your upload: its link stops working and others can start no new runs on
    it (runs they trained keep their weights)."""
    owned_dataset(playground, dataset_id, user)
    playground.share_dataset(dataset_id, on=False)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/datasets/{dataset_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_NOT_FOUND, 409: {"description": "A run trains on it: stop it first"}},
)
def delete_dataset(dataset_id: str, playground: PlaygroundDep, user: UserDep) -> None:
    """Remove an uploaded dataset and its files, for everyone it was shared with too; runs
    trained on it keep their weights."""
    owned_dataset(playground, dataset_id, user)
    playground.delete_dataset(dataset_id)


def _entry(info: DatasetInfo, record: DatasetRecord | None) -> dict[str, Any]:
    """A dataset as its owner sees it: an upload with its share link or null."""
    if record is None:
        return info.to_dict()
    link = _link(record) if record.share_token else None
    return {**info.to_dict(), "share": link.model_dump() if link else None}


def _link(record: DatasetRecord) -> DatasetShareLink:
    token = record.share_token or ""
    query = urlencode({"dataset": record.id, "share": token})
    return DatasetShareLink(share_token=token, url=f"/datasets?{query}")


def _size(text: str) -> tuple[int, int] | Literal["auto"]:
    if text.strip().lower() == "auto":
        return "auto"
    height, separator, width = text.lower().replace("×", "x").partition("x")
    if not separator or not height.strip().isdigit() or not width.strip().isdigit():
        raise invalid_input(
            ["body", "size"], f'write "HxW" such as "28x28", or "auto"; got {text!r}'
        )
    return int(height), int(width)
