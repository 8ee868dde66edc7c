"""Security basics: headers and CSP, CORS closed by default, a source audit, safe ids in paths."""

import ast
import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.api.security import html_script_hashes
from app.main import create_app
from app.settings import Settings
from app.store import checkpoint_dir

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
PAGES = ["/", "/build", "/runs", "/draw", "/runs/no-such-run"]
ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "x-frame-options": "DENY",
}
EVIL = "https://evil.example"


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as test_client:
        yield test_client


def policy(header: str) -> dict[str, list[str]]:
    """A CSP header as {directive: [sources]}."""
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


def inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", html, flags=re.S)


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# -- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [*PAGES, "/healthz", "/api/layers", "/api/runs/nope", "/static/css/app.css"]
)
def test_every_response_has_the_security_headers(client: TestClient, path: str) -> None:
    answer = client.get(path)
    for name, value in ALWAYS.items():
        assert answer.headers[name] == value, name
    permissions = answer.headers["permissions-policy"]
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in permissions
    is_html = answer.headers["content-type"].startswith("text/html")
    assert is_html == (path in PAGES)
    assert ("content-security-policy" in answer.headers) == is_html


def test_refused_requests_get_the_headers_too(client: TestClient) -> None:
    answer = client.post("/api/models", content=b"x" * 5_000_000)
    assert answer.status_code == 413
    assert answer.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", PAGES)
def test_pages_get_a_strict_csp(client: TestClient, path: str) -> None:
    csp = policy(client.get(path).headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    assert all(source.startswith("'sha256-") for source in csp["script-src"][1:])
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["connect-src"] == ["'self'", "ws://testserver", "wss://testserver"]
    for name, value in [
        ("object-src", "'none'"),
        ("base-uri", "'self'"),
        ("form-action", "'self'"),
        ("frame-ancestors", "'none'"),
    ]:
        assert csp[name] == [value], name


@pytest.mark.parametrize("path", PAGES)
def test_csp_allows_exactly_the_inline_scripts_rendered(client: TestClient, path: str) -> None:
    page = client.get(path)
    scripts = inline_scripts(page.text)
    assert any('"imports"' in script for script in scripts), "the importmap is missing"
    allowed = policy(page.headers["content-security-policy"])["script-src"][1:]
    assert sorted(allowed) == sorted({sha256_source(script) for script in scripts})


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_no_inline_styles_or_handlers(client: TestClient, path: str) -> None:
    html = client.get(path).text
    assert not re.findall(r"<[^>]*\sstyle=", html)
    assert not re.findall(r"<[^>]*\son[a-z]+=", html)
    assert "<style" not in html


@pytest.mark.parametrize("host", ["evil.example;script-src *", "a b", "x'y"])
def test_a_strange_host_header_is_not_echoed_into_the_csp(client: TestClient, host: str) -> None:
    answer = client.get("/", headers={"host": host})
    csp = policy(answer.headers["content-security-policy"])
    assert csp["connect-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    assert "*" not in answer.headers["content-security-policy"]


def test_the_api_reference_is_served_offline_under_the_csp(client: TestClient) -> None:
    """Swagger UI comes from npm under /vendor; only its one start-up script is allowed inline."""
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text
    csp = policy(page.headers["content-security-policy"])
    assert csp["script-src"][0] == "'self'"
    assert csp["script-src"][1:] == html_script_hashes(page.text)
    assert len(csp["script-src"]) == 2
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/vendor/swagger-ui/{asset}" in page.text
        assert client.get(f"/vendor/swagger-ui/{asset}").status_code == 200
    assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN
    assert client.get("/openapi.json").status_code == 200


# -- CORS -----------------------------------------------------------------------------------


def preflight(client: TestClient, origin: str) -> dict[str, str]:
    answer = client.options(
        "/api/models",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    return dict(answer.headers)


def test_cors_is_closed_by_default(client: TestClient) -> None:
    assert "access-control-allow-origin" not in preflight(client, EVIL)
    answer = client.get("/api/models", headers={"origin": EVIL})
    assert answer.status_code == 200
    assert not [name for name in answer.headers if name.startswith("access-control-")]


def test_cors_opens_only_for_configured_origins(app_data_dir: Path) -> None:
    friend = "https://app.example"
    settings = Settings(data_dir=app_data_dir, cors_origins=[friend + "/"])
    with TestClient(create_app(settings)) as client:
        allowed = preflight(client, friend)
        assert allowed["access-control-allow-origin"] == friend
        assert "POST" in allowed["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in allowed
        answer = client.get("/api/models", headers={"origin": friend})
        assert answer.headers["access-control-allow-origin"] == friend
        assert "access-control-allow-origin" not in preflight(client, EVIL)
        answer = client.get("/api/models", headers={"origin": EVIL})
        assert "access-control-allow-origin" not in answer.headers
        # the Origin check of writes reads the same list: the friend may save, evil may not
        body = {"name": "x", "spec": {"layers": [{"type": "flatten"}, {"type": "linear"}]}}
        assert client.post("/api/models", json=body, headers={"origin": friend}).status_code != 403
        assert client.post("/api/models", json=body, headers={"origin": EVIL}).status_code == 403


@pytest.mark.parametrize("origin", ["*", "app.example", "https://app.example/path", "ftp://x"])
def test_a_bad_cors_origin_is_refused_by_name(app_data_dir: Path, origin: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(origin))):
        create_app(Settings(data_dir=app_data_dir, cors_origins=[origin]))


# -- source audit ---------------------------------------------------------------------------

FORBIDDEN = {
    "pickle.load": "unpickling runs arbitrary code",
    "pickle.loads": "unpickling runs arbitrary code",
    "pickle.Unpickler": "unpickling runs arbitrary code",
    "_pickle.load": "unpickling runs arbitrary code",
    "_pickle.loads": "unpickling runs arbitrary code",
    "_pickle.Unpickler": "unpickling runs arbitrary code",
    "dill.load": "unpickling runs arbitrary code",
    "dill.loads": "unpickling runs arbitrary code",
    "shelve.open": "shelve unpickles",
    "marshal.load": "marshal loads code objects",
    "marshal.loads": "marshal loads code objects",
    "yaml.load": "use yaml.safe_load",
    "yaml.unsafe_load": "use yaml.safe_load",
    "yaml.full_load": "use yaml.safe_load",
    "builtins.eval": "eval runs arbitrary code",
    "builtins.exec": "exec runs arbitrary code",
    "os.system": "runs a shell",
    "os.popen": "runs a shell",
}
SUBPROCESS = {"run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput"}
# The one place that may unpickle: a subclass of pickle.Unpickler overriding find_class.
RESTRICTED_UNPICKLER = ("app/data/mnist.py", "RestrictedUnpickler")


class _Audit(ast.NodeVisitor):
    """Find dangerous calls and references in one module, resolving import aliases."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.aliases: dict[str, str] = {"eval": "builtins.eval", "exec": "builtins.exec"}
        self.problems: list[str] = []
        self._allowed: set[int] = set()

    def _name(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._name(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def _report(self, node: ast.AST, message: str) -> None:
        self.problems.append(f"{self.where}:{getattr(node, 'lineno', '?')}: {message}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        shadowed = {arg.arg for arg in node.args.args} & {"eval", "exec"}
        saved = {name: self.aliases.pop(name) for name in shadowed if name in self.aliases}
        self.generic_visit(node)
        self.aliases.update(saved)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        overrides = any(
            isinstance(item, ast.FunctionDef) and item.name == "find_class" for item in node.body
        )
        if (self.where, node.name) == RESTRICTED_UNPICKLER and overrides:
            for base in node.bases:
                if self._name(base) == "pickle.Unpickler":
                    self._allowed.add(id(base))
        self.generic_visit(node)

    def _check_reference(self, node: ast.Name | ast.Attribute) -> None:
        name = self._name(node)
        if name in FORBIDDEN and id(node) not in self._allowed:
            self._report(node, f"{name}: {FORBIDDEN[name]}")

    def visit_Name(self, node: ast.Name) -> None:
        self._check_reference(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._check_reference(node)
        if self._name(node) is None:
            self.generic_visit(node)  # `a.b.c` with `a` unknown: nothing inside can match

    def visit_Call(self, node: ast.Call) -> None:
        name = self._name(node.func) or ""
        keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg}

        def is_true(key: str) -> bool:
            value = keywords.get(key)
            return not (value is None or (isinstance(value, ast.Constant) and not value.value))

        if name == "torch.load":
            weights_only = keywords.get("weights_only")
            if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                self._report(node, "torch.load without weights_only=True")
        if name == "numpy.load" and is_true("allow_pickle"):
            self._report(node, "numpy.load with allow_pickle")
        module, _, function = name.rpartition(".")
        if module == "subprocess" and function in SUBPROCESS and is_true("shell"):
            self._report(node, f"{name} with shell=True")
        if module == "asyncio" and function == "create_subprocess_shell":
            self._report(node, f"{name} runs a shell")
        self.generic_visit(node)


def audit(source: str, where: str = "snippet.py") -> list[str]:
    visitor = _Audit(where)
    visitor.visit(ast.parse(source))
    return visitor.problems


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ntorch.load(path)",
        "import torch\ntorch.load(path, weights_only=False)",
        "import torch\ntorch.load(path, weights_only=flag)",
        "from torch import load\nload(path)",
        "import torch as t\nt.load(path)",
        "import pickle\npickle.loads(data)",
        "import pickle as p\np.load(file)",
        "from pickle import loads as l\nl(data)",
        "import pickle\nclass U(pickle.Unpickler):\n    def find_class(self, m, n): ...",
        "import pickle\nreader = pickle.Unpickler",
        "import _pickle\n_pickle.loads(data)",
        "import marshal\nmarshal.loads(data)",
        "eval(text)",
        "exec(code)",
        "import builtins\nbuiltins.eval(text)",
        "import yaml\nyaml.load(text, Loader=yaml.Loader)",
        "import subprocess\nsubprocess.run(command, shell=True)",
        "import subprocess as sp\nsp.Popen(command, shell=1)",
        "from subprocess import check_output\ncheck_output(command, shell=use_shell)",
        "import os\nos.system(command)",
        "import numpy as np\nnp.load(path, allow_pickle=True)",
    ],
)
def test_the_audit_finds_dangerous_code(source: str) -> None:
    assert audit(source), source


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ntorch.load(path, weights_only=True)",
        "module.eval()\nmodel.load(path)",
        "import yaml\nyaml.safe_load(text)",
        "import subprocess\nsubprocess.run([python, '-m', 'pip'], shell=False, check=False)",
        "import numpy as np\nnp.load(path)",
        "import json\njson.loads(text)",
        "def pick(eval):\n    return eval(1)",
    ],
)
def test_the_audit_passes_safe_code(source: str) -> None:
    assert audit(source) == []


def test_the_audit_allows_only_the_restricted_mnist_unpickler() -> None:
    source = (APP / "data" / "mnist.py").read_text()
    assert audit(source, "app/data/mnist.py") == []
    assert audit(source, "app/data/other.py"), "the exemption must be for mnist.py alone"


def test_app_has_no_unsafe_deserialisation_eval_or_shell() -> None:
    files = sorted(APP.rglob("*.py"))
    assert len(files) > 20
    problems = [
        problem
        for path in files
        for problem in audit(path.read_text(), path.relative_to(ROOT).as_posix())
    ]
    assert problems == []


def test_only_settings_reads_the_environment() -> None:
    """Secrets come from Settings alone: no module reads os.environ or os.getenv itself."""
    readers = []
    for path in sorted(APP.rglob("*.py")):
        if path == APP / "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb"}:
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == []


# -- ids in paths ---------------------------------------------------------------------------

# Sent as written (a literal ".." would be resolved by the client, as browsers do).
BAD_IDS = [
    "..%2F..%2Fetc",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fvictim",
    "..%5C..%5Cvictim",
    "%00",
    "abc%00def",
    "a" * 5000,
]
ROUTES = [
    ("GET", "/api/runs/{}"),
    ("GET", "/api/runs/{}/metrics"),
    ("GET", "/api/runs/{}/export"),
    ("POST", "/api/runs/{}/resume"),
    ("POST", "/api/runs/{}/stop"),
    ("DELETE", "/api/runs/{}"),
    ("GET", "/api/models/{}"),
    ("DELETE", "/api/models/{}"),
    ("GET", "/runs/{}"),
]


def socket_refuses(client: TestClient, path: str) -> bool:
    """Whether the socket at `path` closes, at most after an error message, sending no event."""
    try:
        with client.websocket_connect(path) as socket:
            if socket.receive_json()["type"] != "error":
                return False
            socket.receive_json()
    except WebSocketDisconnect:
        return True
    return False


def tree(root: Path) -> dict[str, int]:
    """Every path under `root` with its modification time."""
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*")}


def outside(files: dict[str, int]) -> dict[str, int]:
    return {name: mtime for name, mtime in files.items() if name.split("/")[0] != "data"}


def test_strange_ids_get_404_or_422_and_touch_no_files(app_data_dir: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"  # where data_dir/checkpoints/../../victim would point
    victim.mkdir()
    (victim / "keep.txt").write_text("do not delete")
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as client:
        before = tree(tmp_path)
        for method, route in ROUTES:
            for bad in BAD_IDS:
                answer = client.request(method, route.format(bad))
                assert answer.status_code in (404, 422), (method, route, bad[:20])
        for bad in BAD_IDS:
            assert socket_refuses(client, f"/ws/runs/{bad}"), bad[:20]
    assert (victim / "keep.txt").read_text() == "do not delete"
    assert outside(tree(tmp_path)) == outside(before)


@pytest.mark.parametrize("bad", ["../../victim", "..", "a/b", "a\x00b", "", "a" * 65, "ü"])
def test_checkpoint_dir_refuses_ids_that_are_not_ours(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid run id"):
        checkpoint_dir(tmp_path, bad)
