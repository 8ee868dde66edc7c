"""Datasets for the service: the built-in ones and the uploads, each upload with its owner and
its share token."""

from __future__ import annotations

import shutil
import uuid
from typing import BinaryIO

from app.data.registry import (
    UPLOAD_PREFIX,
    DatasetError,
    DatasetInfo,
    Datasets,
    is_upload_id,
    upload_folder,
)
from app.data.uploads import UploadOptions, read_upload, save_dataset
from app.settings import Settings
from app.store import DatasetRecord, NotFoundError, Store


class DatasetLibrary:
    """Lists, takes in, shares and removes datasets; an upload's files and its record go
    together."""

    def __init__(self, store: Store, datasets: Datasets, settings: Settings) -> None:
        self._store = store
        self._datasets = datasets
        self._settings = settings

    def infos(self, owner: str | None) -> list[DatasetInfo]:
        """The built-in datasets, then the uploads (of `owner`; None: everyone's), oldest first."""
        uploaded = []
        for record in self._store.list_datasets(owner):
            try:
                uploaded.append(self._datasets.info(record.id))
            except DatasetError:
                continue  # its files went missing: it cannot be trained on, so it is not listed
        return [*self._datasets.infos(), *uploaded]

    def upload(
        self, upload: BinaryIO | bytes, name: str, options: UploadOptions, owner: str | None
    ) -> DatasetInfo:
        """Check and convert an uploaded ZIP or CSV, store it, and say what it is (UploadError
        naming what is wrong; nothing is left behind then)."""
        uploaded = read_upload(upload, name, options, self._settings.upload_limits())
        dataset_id = UPLOAD_PREFIX + uuid.uuid4().hex
        folder = upload_folder(self._datasets.places, dataset_id)
        if folder is None:
            raise RuntimeError("this server keeps no uploaded datasets")  # places without uploads
        save_dataset(uploaded.dataset, folder, uploaded.source)
        try:
            info = self._datasets.info(dataset_id)
            self._store.create_dataset(dataset_id, info.title, info.to_dict(), owner)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return info

    def record(self, dataset_id: str) -> DatasetRecord | None:
        """An uploaded dataset's record (who owns it), or None."""
        return self._store.get_dataset(dataset_id) if is_upload_id(dataset_id) else None

    def records(self, owner: str | None) -> list[DatasetRecord]:
        """The uploads' records (of `owner`; None: everyone's), oldest first."""
        return self._store.list_datasets(owner)

    def share(self, dataset_id: str, *, on: bool) -> DatasetRecord:
        """Give an upload a new share token (an older one stops working), or take it away
        (NotFoundError)."""
        return self._store.set_dataset_share_token(dataset_id, share=on)

    def shared(self, share_token: str) -> DatasetRecord | None:
        """The upload this share token opens, or None."""
        return self._store.shared_dataset(share_token)

    def delete(self, dataset_id: str) -> None:
        """Remove an upload: its record, then its files (NotFoundError; ConflictError while a
        run trains on it). Runs trained on it keep their weights and history."""
        if not self._store.delete_dataset(dataset_id):
            raise NotFoundError(f"no dataset with id '{dataset_id}'")
        folder = upload_folder(self._datasets.places, dataset_id)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
