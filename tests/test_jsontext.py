"""JSON text of live answers and run events (orjson): what browsers and the stdlib read back."""

import json
import math
import subprocess
import sys

import numpy as np

from app.jsontext import json_bytes, json_text


def test_answers_read_back_as_the_standard_library_wrote_them() -> None:
    answer = {
        "type": "prediction",
        "input": np.round(np.random.default_rng(0).random((28, 28)), 4).tolist(),
        "probabilities": [0.1, 0.25, 1e-7, 0.30000000000000004],
        "id": 2**62,
        "classes": ["0", "ü", "猫"],
        "nested": [{"low": (0.5, -1.0)}],
    }
    assert json.loads(json_text(answer)) == json.loads(json.dumps(answer))
    assert json_bytes(answer) == json_text(answer).encode()
    assert " " not in json_text({"a": [1, 2]})  # compact: {"a":[1,2]}


def test_numbers_browsers_cannot_read_become_null_and_numpy_numbers_are_numbers() -> None:
    numbers = {"nan": math.nan, "inf": -math.inf, "f32": np.float32(0.5), "i64": np.int64(3)}
    text = json_text(numbers)
    assert json.loads(text) == {"nan": None, "inf": None, "f32": 0.5, "i64": 3}
    assert json.loads(json_text({1: "a"})) == {"1": "a"}  # as json.dumps writes int keys


def test_serve_freezes_start_up_objects_out_of_the_collectors_scans() -> None:
    code = (
        "import gc, torch, app.main\n"
        "from app.startup_gc import freeze_startup_objects\n"
        "before = gc.get_freeze_count()\n"
        "freeze_startup_objects()\n"
        "print(before, gc.get_freeze_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = (int(number) for number in done.stdout.split())
    assert before == 0
    assert after > 100_000  # torch's, FastAPI's and the app's objects
