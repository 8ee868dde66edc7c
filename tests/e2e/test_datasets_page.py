"""The Datasets page and the dataset picker in a real browser: upload a ZIP of class folders,
see it listed, train on it from the Build page, read its class names on the run page; a bad
upload shows the server's message; in shared mode, share an upload by link, and someone else
opens it and trains on it until it is unshared."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from e2e_support import ARTIFACTS, WIDE, ConsoleLog, Server, draw, shoot
from PIL import Image
from playwright.sync_api import Browser, Page, Route, expect

CLASSES = ("checks", "dots", "stripes")
TINY = {
    "input_shape": [1, 16, 16],
    "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 3}],
}
STRIPE = [[(0.1, 0.2), (0.9, 0.2)], [(0.1, 0.5), (0.9, 0.5)], [(0.1, 0.8), (0.9, 0.8)]]

# Recorded from the first moment of each document (as tests/e2e/test_csp.py does).
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}`));
"""


def pattern(name: str, rng: np.random.Generator) -> Image.Image:
    """A 16×16 grey picture of its class, with a little noise."""
    pixels = np.zeros((16, 16), np.int16)
    if name == "stripes":
        pixels[::4] = 255
    elif name == "checks":
        pixels[(np.indices((16, 16)).sum(axis=0) // 4) % 2 == 0] = 255
    else:
        pixels[5:11, 5:11] = 255
    pixels += rng.integers(0, 40, (16, 16), dtype=np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")


def class_zip(path: Path, folders: tuple[str, ...] = CLASSES, per_class: int = 15) -> Path:
    """A ZIP of class folders of tiny PNGs (`checks/000.png`, …)."""
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as archive:
        for name in folders:
            for index in range(per_class):
                png = io.BytesIO()
                pattern(name, rng).save(png, "PNG")
                archive.writestr(f"{name}/{index:03}.png", png.getvalue())
    return path


def open_page(tab: Page, path: str) -> None:
    tab.goto(path)
    expect(tab.locator("body[data-ready=true]")).to_be_attached()


def no_csp_violations(tab: Page) -> None:
    assert tab.evaluate("window.__csp") == [], f"CSP violations on {tab.url}"


def upload_shapes(tab: Page, tmp_path: Path) -> str:
    """Upload the ZIP through the form; see it listed with its facts; its id."""
    open_page(tab, "/datasets")
    expect(tab.get_by_test_id("dataset-card").filter(has_text="MNIST").first).to_contain_text(
        "1×28×28"
    )
    form = tab.get_by_test_id("upload-form")
    form.get_by_label("File (.zip or .csv)").set_input_files(class_zip(tmp_path / "shapes.zip"))
    expect(form.get_by_label("Name")).to_have_attribute("placeholder", "shapes")
    form.get_by_label("Name").fill("e2e shapes")
    form.get_by_label("Image size").fill("16x16")
    form.get_by_role("button", name="Upload").click()
    expect(tab.get_by_test_id("upload-message")).to_contain_text("Added “e2e shapes”")
    card = tab.get_by_test_id("dataset-card").filter(has_text="e2e shapes")
    expect(card).to_contain_text("1×16×16")
    expect(card).to_contain_text("3 classes")
    expect(card).to_contain_text("checks, dots, stripes")
    dataset_id = card.get_attribute("data-dataset")
    assert dataset_id and dataset_id.startswith("ds_")
    return dataset_id


def train_from_the_builder(tab: Page, dataset_id: str) -> str:
    """ "Train on it": the picker is preselected; a model that does not fit is refused with
    the API's words; one that fits trains. The run's id."""
    tab.get_by_test_id("upload-train").click()
    expect(tab).to_have_url(re.compile(rf"/build\?dataset={dataset_id}$"))
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    expect(tab.get_by_test_id("dataset-select")).to_have_value(dataset_id)
    expect(tab.get_by_test_id("dataset-facts")).to_contain_text(
        "input 1×16×16 · 3 classes (checks, dots, stripes) · "
    )
    expect(tab.get_by_test_id("dataset-fit")).to_contain_text("set input_shape to [1, 16, 16]")
    tab.get_by_test_id("train-start").click()  # the default LeNet-5 takes 28×28 digits
    message = tab.get_by_test_id("train-message")
    expect(message).to_contain_text(
        "input_shape: samples of “e2e shapes” are 1×16×16 (256 values), the model takes 1×28×28"
    )
    expect(message).to_contain_text("layers: the model outputs 10 values")
    expect(tab).to_have_url(re.compile(r"/build\?"))

    tab.get_by_test_id("spec-json").fill(json.dumps(TINY))
    tab.get_by_test_id("model-name").click()  # leaving the editor applies it
    expect(tab.get_by_test_id("total-params")).to_have_text("771")
    expect(tab.get_by_test_id("dataset-fit")).to_be_hidden()
    tab.get_by_test_id("model-name").fill("e2e on shapes")
    tab.get_by_label("Epochs", exact=True).fill("8")
    tab.get_by_label("Batch size", exact=True).fill("16")
    tab.get_by_test_id("train-start").click()
    expect(tab).to_have_url(re.compile(r"/runs/\w+$"))
    return tab.url.rsplit("/", 1)[1]


def see_the_classes_on_the_run_page(tab: Page) -> None:
    expect(tab.get_by_test_id("run-status")).to_have_text("completed", timeout=30_000)
    expect(tab.get_by_test_id("run-dataset")).to_have_text("e2e shapes")
    expect(tab.get_by_test_id("run-message")).to_contain_text("test images it never saw")
    matrix = tab.get_by_test_id("confusion")
    for name in CLASSES:
        expect(matrix.locator(f"th[title='{name}']")).to_have_count(2)  # its row and column
    matrix.get_by_role("button", name=re.compile(r"^true stripes, predicted stripes")).click()
    expect(tab.locator("#cell-info")).to_contain_text("“stripes”")
    draw(tab, "[data-testid=draw-canvas]", STRIPE)
    expect(tab.get_by_test_id("prediction")).to_have_text(re.compile(r"^(checks|dots|stripes)$"))
    expect(tab.get_by_test_id("prob-2")).to_have_attribute("aria-label", "probability of stripes")


def delete_the_upload(tab: Page, dataset_id: str) -> None:
    """A refusal (409) is shown as the server says it; then the upload goes."""
    open_page(tab, "/datasets")
    card = tab.get_by_test_id("dataset-card").filter(has_text="e2e shapes")

    def busy(route: Route) -> None:
        route.fulfill(status=409, json={"detail": "a run trains on it: stop it first"})

    tab.route(f"**/api/datasets/{dataset_id}", busy)
    card.get_by_role("button", name="Delete e2e shapes").click()
    expect(card.get_by_role("alert")).to_have_text("a run trains on it: stop it first")
    tab.unroute(f"**/api/datasets/{dataset_id}")
    card.get_by_role("button", name="Delete e2e shapes").click()
    expect(tab.get_by_test_id("list-message")).to_have_text("Deleted “e2e shapes”.")
    expect(tab.get_by_test_id("dataset-card").filter(has_text="e2e shapes")).to_have_count(0)


def test_upload_a_zip_train_on_it_and_see_its_classes(
    tab: Page, server: Server, console: ConsoleLog, tmp_path: Path
) -> None:
    console.allow(r"status of 422", r"/api/runs$")  # the model that does not fit
    console.allow(r"status of 409", r"/api/datasets/")  # the delete refused while "in use"
    tab.add_init_script(RECORD_CSP)
    dataset_id = upload_shapes(tab, tmp_path)
    shoot(tab, "datasets")
    no_csp_violations(tab)

    run_id = train_from_the_builder(tab, dataset_id)
    assert server.api("GET", f"/api/runs/{run_id}")["config"]["dataset"] == dataset_id
    see_the_classes_on_the_run_page(tab)
    no_csp_violations(tab)

    # the Draw page lists the run and names the bars after the classes
    open_page(tab, f"/draw?run={run_id}")
    expect(tab.get_by_test_id("run-select")).to_have_value(run_id)
    draw(tab, "[data-testid=draw-canvas]", STRIPE)
    expect(tab.get_by_test_id("prediction")).to_have_text(re.compile(r"^(checks|dots|stripes)$"))
    expect(tab.get_by_test_id("prob-0")).to_have_attribute("aria-label", "probability of checks")

    delete_the_upload(tab, dataset_id)


def test_a_bad_upload_shows_the_servers_message(
    tab: Page, console: ConsoleLog, tmp_path: Path
) -> None:
    console.allow(r"status of 422", r"/api/datasets$")
    open_page(tab, "/datasets")
    form = tab.get_by_test_id("upload-form")
    form.get_by_role("button", name="Upload").click()  # no file yet: said before sending
    expect(tab.get_by_test_id("upload-message")).to_contain_text("Choose a .zip")
    one_class = class_zip(tmp_path / "cats.zip", folders=("cat",), per_class=3)
    form.get_by_label("File (.zip or .csv)").set_input_files(one_class)
    form.get_by_role("button", name="Upload").click()
    expect(tab.get_by_test_id("upload-message")).to_have_text(
        "the upload has only one class ('cat'); a classifier needs at least two"
    )
    expect(tab.get_by_test_id("upload-next")).to_be_hidden()
    expect(form.get_by_role("button", name="Upload")).to_be_enabled()


@pytest.fixture(scope="module")
def shared_server(
    tmp_path_factory: pytest.TempPathFactory, mnist_data_dir: Path
) -> Iterator[Server]:
    """A second live server, in shared mode: each browser profile is its own person."""
    mnist = (mnist_data_dir / "mnist.safetensors").resolve()
    live = Server(
        tmp_path_factory.mktemp("e2e-datasets-shared"),
        mnist,
        ARTIFACTS / "e2e-datasets-shared-server.log",
        env={"NNP_SHARED_MODE": "true"},
    )
    yield live
    live.stop()


def person(chromium: Browser, server: Server, console: ConsoleLog) -> Page:
    """A page in a browser profile of its own (its own cookie), that records CSP violations."""
    context = chromium.new_context(viewport=WIDE, base_url=server.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    page.add_init_script(RECORD_CSP)
    return page


def test_a_shared_upload_opens_by_its_link_and_trains_until_unshared(
    chromium: Browser, shared_server: Server, console: ConsoleLog, tmp_path: Path
) -> None:
    console.allow(r"status of 404", r"/api/datasets/ds_")  # the link after it is unshared
    owner = person(chromium, shared_server, console)
    viewer = person(chromium, shared_server, console)
    try:
        owner.goto("/")  # the viewer's first visit is the link itself: it gives an identity
        dataset_id = upload_shapes(owner, tmp_path)
        card = owner.get_by_test_id("dataset-card").filter(has_text="e2e shapes")
        card.get_by_role("button", name="Share e2e shapes").click()
        link = card.get_by_test_id("dataset-share-url")
        expect(link).to_be_focused()
        url = link.input_value()
        assert url.startswith(f"{shared_server.url}/datasets?dataset={dataset_id}&share=")
        shoot(owner, "datasets-share-link")
        no_csp_violations(owner)

        open_page(viewer, "/datasets")  # someone else: the upload is not listed to them
        expect(viewer.get_by_test_id("dataset-list")).not_to_contain_text("e2e shapes")
        expect(viewer.get_by_test_id("shared-panel")).to_be_hidden()
        model = viewer.request.post("/api/models", data={"name": "tiny", "spec": TINY})
        assert model.status == 201, model.text()
        viewer.goto(url)
        expect(viewer.locator("body[data-ready=true]")).to_be_attached()
        shared = viewer.get_by_test_id("shared-card")
        expect(shared).to_contain_text("e2e shapes")
        expect(shared).to_contain_text("1×16×16")
        expect(shared).to_contain_text("checks, dots, stripes")
        expect(viewer.get_by_test_id("shared-recipe")).to_contain_text(f'"dataset": "{dataset_id}"')
        expect(viewer.get_by_test_id("shared-recipe")).to_contain_text("?dataset_share=")
        expect(viewer.get_by_test_id("shared-model")).to_have_value(model.json()["id"])
        expect(viewer.get_by_test_id("shared-fit")).to_have_text("")  # the tiny model fits
        shoot(viewer, "datasets-shared")
        no_csp_violations(viewer)
        viewer.get_by_test_id("shared-start").click()
        expect(viewer).to_have_url(re.compile(r"/runs/\w+$"))
        run_id = viewer.url.rsplit("/", 1)[1]
        expect(viewer.get_by_test_id("run-status")).to_have_text("completed", timeout=60_000)
        run = viewer.request.get(f"/api/runs/{run_id}").json()
        assert run["config"]["dataset"] == dataset_id
        assert "share" not in json.dumps(run["config"])

        card.get_by_role("button", name="Stop sharing e2e shapes").click()
        expect(card.get_by_role("button", name="Share e2e shapes")).to_be_visible()
        viewer.goto(url)
        expect(viewer.locator("body[data-ready=true]")).to_be_attached()
        expect(viewer.get_by_test_id("shared-message")).to_contain_text("does not work")
        expect(viewer.get_by_test_id("shared-train")).to_be_hidden()
    finally:
        owner.context.close()
        viewer.context.close()
    assert not console.errors, "errors in the browser console:\n" + "\n".join(console.errors)
