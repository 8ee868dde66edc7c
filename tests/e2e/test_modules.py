"""The pure parts of the ES modules, run in the browser: decimation, formats, histories."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page


def run_js(tab: Page, body: str) -> Any:
    """Evaluate an async function body on the home page, with the app's import map."""
    tab.goto("/")
    return tab.evaluate(f"async () => {{ {body} }}")


def test_decimation_keeps_extremes_and_bounds_the_points(tab: Page) -> None:
    result = run_js(
        tab,
        """
        const { decimate } = await import('/static/js/charts.js');
        const n = 200000, xs = [], ys = [];
        for (let i = 0; i < n; i++) {
          xs.push(i + 1);
          ys.push(Math.sin(i / 500) + (i === 123457 ? 9 : 0));
        }
        const [dx, dy] = decimate(xs, [ys], -Infinity, Infinity, 500);
        const zoom = decimate(xs, [ys], 1000, 1100, 500);
        const sorted = dx.every((x, i) => i === 0 || x > dx[i - 1]);
        return { points: dx.length, max: Math.max(...dy), min: Math.min(...dy), first: dx[0],
                 last: dx[dx.length - 1], sorted, zoomPoints: zoom[0].length,
                 zoomFirst: zoom[0][0], zoomLast: zoom[0][zoom[0].length - 1],
                 small: decimate([1, 2, 3], [[4, 5, 6]])[1] };
        """,
    )
    assert result["points"] <= 2 * 500 + 2
    assert result["max"] > 9  # the one spike survives
    assert result["min"] < -0.99
    assert (result["first"], result["last"]) == (1, 200000)  # the extent is kept
    assert result["sorted"]
    # zoomed in: the window at full resolution, a point beyond each side, the history's ends
    assert result["zoomPoints"] == 101 + 2 + 2
    assert (result["zoomFirst"], result["zoomLast"]) == (1, 200000)
    assert result["small"] == [4, 5, 6]


def test_spec_text_and_pair_parsing(tab: Page) -> None:
    result = run_js(
        tab,
        """
        const { formatSpec } = await import('/static/js/builder.js');
        const { parsePair } = await import('/static/js/schemaform.js');
        const spec = { input_shape: [1, 28, 28], layers: [
          { type: 'conv2d', out_channels: 8, kernel_size: [3, 5] },
          { type: 'residual', layers: [
            { type: 'relu' }, { type: 'residual', layers: [{ type: 'gelu' }] }] },
          { type: 'flatten' }, { type: 'linear', out_features: 10 } ] };
        const text = formatSpec(spec);
        return { same: JSON.stringify(JSON.parse(text)) === JSON.stringify(spec),
                 lines: text.split('\\n').length,
                 pairs: ['3', '3, 5', '[3,5]', '3x5', 'same', '', 'abc']
                   .map((t) => parsePair(t, ['same'])) };
        """,
    )
    assert result["same"]
    assert result["lines"] == 14
    assert result["pairs"] == [3, [3, 5], [3, 5], [3, 5], "same", None, "abc"]


def test_run_history_smooths_and_rewinds(tab: Page) -> None:
    result = run_js(
        tab,
        """
        const { RunHistory } = await import('/static/js/metrics.js');
        const h = new RunHistory();
        let rewound = 0; h.onRewind = () => rewound++;
        const step = (s, loss) => h.add({ type: 'step', step: s, total_steps: 100, epoch: 1,
          epoch_progress: s / 100, loss, accuracy: 0.5, lr: 0.1, samples_per_s: 1000 });
        for (let s = 1; s <= 50; s++) step(s, s <= 25 ? 2 : 0);
        const before = h.steps.x.length;
        step(30, 1);  // a resumed run replays from its checkpoint
        h.add({ type: 'epoch', epoch: 1, val_accuracy: 0.9, train_accuracy: 0.8, val_loss: 0.3,
                train_loss: 0.4 });
        h.add({ type: 'epoch', epoch: 1, val_accuracy: 0.91, train_accuracy: 0.8, val_loss: 0.3,
                train_loss: 0.4 });
        return { before, after: h.steps.x.length, last: h.steps.x.at(-1), rewound,
                 smooth: h.steps.lossSmooth[28], epochs: h.epochColumns().valAcc };
        """,
    )
    assert (result["before"], result["after"], result["last"], result["rewound"]) == (50, 30, 30, 1)
    assert 0 < result["smooth"] < 2  # the average follows the drop, not at once
    assert result["epochs"] == [0.91]


def test_run_history_names_the_first_epoch_at_an_accuracy(tab: Page) -> None:
    result = run_js(
        tab,
        """
        const { RunHistory } = await import('/static/js/metrics.js');
        const h = new RunHistory();
        const epoch = (n, accuracy, seconds) => h.add({ type: 'epoch', epoch: n,
          val_accuracy: accuracy, train_seconds: seconds });
        const none = h.firstReaching(0.99);
        epoch(1, 0.985, 5.2);
        const notYet = h.firstReaching(0.99);
        epoch(3, 0.993, 16.0);
        epoch(2, 0.990, 10.7);  // a resumed run may report an earlier epoch again
        const first = h.firstReaching(0.99);
        return { none, notYet, epoch: first.epoch, seconds: first.train_seconds };
        """,
    )
    assert (result["none"], result["notYet"]) == (None, None)
    assert (result["epoch"], result["seconds"]) == (2, 10.7)
