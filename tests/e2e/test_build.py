"""The builder in a real browser: presets, shapes as you edit, JSON both ways, API errors."""

from __future__ import annotations

import json
import re

from e2e_support import ConsoleLog, Server, no_horizontal_scroll, shoot
from playwright.sync_api import Locator, Page, Route, expect

SUMMARY_422 = r"status of 422"


def open_builder(tab: Page, query: str = "") -> None:
    tab.goto(f"/build{query}")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()


def spec_in_editor(tab: Page) -> dict[str, object]:
    spec: dict[str, object] = json.loads(tab.get_by_test_id("spec-json").input_value())
    return spec


def test_home_page_lists_presets_and_links_to_the_builder(tab: Page) -> None:
    tab.goto("/")
    expect(tab.locator("tr[data-preset=lenet5]")).to_contain_text("61,706")
    shoot(tab, "home")
    tab.get_by_role("link", name="Open lenet5 in the builder").click()
    expect(tab).to_have_url("/build?preset=lenet5")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    expect(tab.get_by_test_id("preset-select")).to_have_value("lenet5")


def test_preset_shows_shapes_params_macs_and_formulas(tab: Page, server: Server) -> None:
    open_builder(tab)
    tab.get_by_test_id("preset-select").select_option("cnn")
    expected = server.api("GET", "/api/presets/cnn")["summary"]
    expect(tab.get_by_test_id("total-params")).to_have_text(f"{expected['total_params']:,}")
    expect(tab.get_by_test_id("total-macs")).to_have_text(f"{expected['total_macs']:,}")
    cards = tab.locator("#layer-list li.layer")
    expect(cards).to_have_count(len(expected["layers"]))
    first = cards.first
    expect(first.locator(".layer-type")).to_have_text("conv2d")
    expect(first.locator(".layer-stats")).to_contain_text("32×26×26")
    expect(first.locator(".formula")).to_contain_text("out = ⌊(n + 2p − f)/s⌋ + 1")
    expect(first.locator(".formula")).to_contain_text(expected["layers"][0]["formula"])
    assert spec_in_editor(tab)["layers"] == server.api("GET", "/api/presets/cnn")["spec"]["layers"]
    # the explanation of the selected layer follows the selection
    cards.nth(1).locator(".layer-head").click()
    about = cards.nth(1).locator("details.layer-about")
    about.locator("summary").click()
    expect(about).to_contain_text("ReLU keeps positive numbers")
    expect(about.locator("svg[data-curve=relu] path")).to_have_count(2)
    expect(cards.first.locator("details.layer-about")).to_have_count(0)
    shoot(tab, "build")


def test_form_and_json_editor_stay_in_sync(tab: Page) -> None:
    open_builder(tab, "?preset=lenet5")
    first = tab.locator("#layer-list li.layer").first
    out_channels = first.get_by_label("out_channels")
    out_channels.fill("10")
    expect(first.locator(".layer-stats")).to_contain_text("10×28×28")
    expect(tab.get_by_test_id("spec-json")).to_have_value(re.compile(r'"out_channels": 10\b'))

    editor = tab.get_by_test_id("spec-json")
    spec = spec_in_editor(tab)
    spec["layers"][0]["kernel_size"] = 3  # type: ignore[index]
    spec["layers"][0]["padding"] = 1  # type: ignore[index]
    editor.fill(json.dumps(spec))
    expect(first.get_by_label("kernel_size")).to_have_value("3")
    expect(first.locator(".formula")).to_contain_text("⌊(28 + 2·1 − 3)/1⌋ + 1 = 28")

    editor.fill('{"layers": [')
    expect(tab.locator("#json-message")).to_contain_text("Not valid JSON")
    expect(first.get_by_label("kernel_size")).to_have_value("3")  # the layers are kept


def test_palette_adds_reorders_and_removes_layers(tab: Page) -> None:
    open_builder(tab, "?preset=empty")
    expect(tab.locator(".empty-note")).to_be_visible()
    tab.get_by_role("button", name="Add flatten", exact=False).click()
    tab.get_by_role("button", name="Add linear", exact=False).click()
    cards = tab.locator("#layer-list li.layer")
    expect(cards).to_have_count(2)
    expect(tab.get_by_test_id("total-params")).to_have_text("7,850")  # 784·10 + 10
    tab.get_by_role("button", name="Add relu", exact=False).click()  # after the selected linear
    expect(cards.nth(2).locator(".layer-type")).to_have_text("relu")
    tab.get_by_role("button", name="Move layer 2 up").click()
    expect(cards.nth(1).locator(".layer-type")).to_have_text("relu")
    assert [layer["type"] for layer in spec_in_editor(tab)["layers"]] == [  # type: ignore[union-attr]
        "flatten",
        "relu",
        "linear",
    ]
    tab.get_by_role("button", name="Remove layer 1 (relu)").click()
    expect(cards).to_have_count(2)
    # keyboard: Alt+ArrowDown moves the focused layer
    cards.first.focus()
    tab.keyboard.press("Alt+ArrowDown")
    expect(cards.first.locator(".layer-type")).to_have_text("linear")


def test_a_bad_layer_is_marked_with_the_api_message(
    tab: Page, server: Server, console: ConsoleLog
) -> None:
    console.allow(SUMMARY_422, r"/api/specs/summary$")  # the builder's checks answer 422 here
    open_builder(tab, "?preset=mlp")
    tab.get_by_role("button", name="Remove layer 0 (flatten)").click()
    bad = {"layers": [layer for layer in server.api("GET", "/api/presets/mlp")["spec"]["layers"]]}
    bad["layers"] = bad["layers"][1:]
    answer = tab.request.post("/api/specs/summary", data={"spec": bad})
    assert answer.status == 422
    message = answer.json()["detail"][0]["msg"]
    card = tab.locator("#layer-list li.layer").first
    expect(card).to_have_class(re.compile(r"\binvalid\b"))
    expect(card).to_have_attribute("aria-invalid", "true")
    expect(card.locator(".error")).to_have_text(message)
    expect(tab.get_by_test_id("spec-message")).to_contain_text("One layer needs fixing")
    expect(tab.get_by_test_id("total-params")).to_have_text("—")
    shoot(tab, "build-error", widths=(1440,))

    # a field-level error marks the field itself
    tab.get_by_role("button", name="Add flatten", exact=False).click()
    tab.get_by_role("button", name="Move layer 3 up").click()
    tab.get_by_role("button", name="Move layer 2 up").click()
    tab.get_by_role("button", name="Move layer 1 up").click()
    expect(tab.locator("#layer-list li.layer.invalid")).to_have_count(0)
    linear = tab.locator("#layer-list li.layer").nth(1)
    linear.get_by_label("out_features").fill("0")
    expect(linear.locator(".error")).to_contain_text("out_features")
    expect(linear.get_by_label("out_features")).to_have_attribute("aria-invalid", "true")


def test_save_model_then_open_it(tab: Page) -> None:
    open_builder(tab, "?preset=lenet5")
    tab.get_by_test_id("model-name").fill("e2e lenet")
    tab.get_by_test_id("model-save").click()
    expect(tab.locator("#build-message")).to_contain_text("Saved “e2e lenet” (61,706 parameters)")
    tab.get_by_test_id("preset-select").select_option("mlp")
    expect(tab.get_by_test_id("total-params")).to_have_text("101,770")
    select = tab.get_by_test_id("model-select")
    label = select.locator("option", has_text="e2e lenet").first.inner_text()
    select.select_option(label=label)
    expect(tab.get_by_test_id("total-params")).to_have_text("61,706")
    expect(tab.get_by_test_id("model-name")).to_have_value("e2e lenet")


def test_builder_layout_holds_from_390_to_1920(tab: Page) -> None:
    open_builder(tab, "?preset=resnet-tiny")
    for width in (390, 768, 1024, 1920):
        tab.set_viewport_size({"width": width, "height": 900})
        tab.wait_for_timeout(100)
        no_horizontal_scroll(tab)
    tab.set_viewport_size({"width": 390, "height": 844})
    # every control is reachable by keyboard: the palette's first chip gets focus by tabbing
    tab.locator("#preset-select").focus()
    for _ in range(8):
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.classList.contains('chip')"):
            break
    assert tab.evaluate("document.activeElement.classList.contains('chip')")


def test_a_bad_training_setting_is_marked_with_the_api_message(
    tab: Page, console: ConsoleLog
) -> None:
    console.allow(SUMMARY_422, r"/api/runs$")  # the run is refused with 422
    open_builder(tab, "?preset=mlp")
    tab.get_by_label("Loss", exact=True).select_option("nll")
    tab.get_by_text("More settings").click()
    tab.get_by_label("Label smoothing").fill("0.1")
    tab.get_by_test_id("train-start").click()
    message = tab.get_by_test_id("train-message")
    expect(message).to_contain_text("label_smoothing: applies to loss cross_entropy only")
    expect(tab.get_by_label("Label smoothing")).to_have_attribute("aria-invalid", "true")
    expect(tab).to_have_url(re.compile(r"/build\?"))
    expect(tab.get_by_test_id("train-start")).to_be_enabled()


def test_a_preset_fills_the_training_form_with_its_config(
    tab: Page, server: Server, console: ConsoleLog
) -> None:
    console.allow(r"status of 409", r"/api/runs$")  # the run request is answered here, not queued
    config = server.api("GET", "/api/presets/speedrun")["config"]
    open_builder(tab, "?preset=lenet5")

    def setting(key: str) -> Locator:
        return tab.locator(f"#train-form [data-field={key}]")

    expect(setting("epochs")).to_have_value("3")
    tab.get_by_test_id("preset-select").select_option("speedrun")
    expect(tab.get_by_test_id("train-preset-note")).to_contain_text("speedrun preset")
    expect(setting("epochs")).to_have_value(str(config["epochs"]))
    expect(setting("batch_size")).to_have_value(str(config["batch_size"]))
    expect(setting("lr")).to_have_value(str(config["lr"]))
    expect(setting("label_smoothing")).to_have_value(str(config["label_smoothing"]))
    expect(setting("channels_last")).to_be_checked()
    expect(tab.locator("#train-more")).to_have_attribute("open", "")

    sent: list[dict[str, object]] = []

    def answer(route: Route) -> None:
        sent.append(route.request.post_data_json)
        route.fulfill(status=409, json={"detail": "not queued in this test"})

    tab.route("**/api/runs", answer)
    tab.get_by_test_id("train-start").click()
    expect(tab.get_by_test_id("train-message")).to_contain_text("not queued in this test")
    chosen = {**server.api("GET", "/api/training/config")["defaults"], **sent[0]["config"]}
    assert {key: chosen[key] for key in config} == config  # the form leaves defaults out

    tab.get_by_test_id("preset-select").select_option("mlp")  # no config: the defaults again
    expect(tab.get_by_test_id("train-preset-note")).to_have_text("")
    expect(setting("epochs")).to_have_value("3")
    expect(setting("lr")).to_have_value("0.003")
    expect(setting("channels_last")).not_to_be_checked()
