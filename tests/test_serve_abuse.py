"""The served app under abuse: slow clients, a forged Host, huge headers, many parameters, bad UTF-8,
every method on every route; and error pages that show no absolute path.

The socket tests run the real ``kb serve`` (waitress) on a loopback port over a tiny index built here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb.build.indexer import build_index
from web import SECURITY_HEADERS, create_app

REPO = Path(__file__).resolve().parent.parent
MISSION = REPO / "corpus" / "wenling-transport-bureau-2023-work-summary.txt"
DOC = "mission"
ROUTES = ["/", "/search?q=交通", f"/doc/{DOC}", "/p/x.y", "/healthz", "/api/search?q=交通", "/api/docs",
          f"/api/docs/{DOC}", "/api/passages/x.y", "/status", "/api/status", f"/doc/{DOC}/original", "/nope"]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "FOO"]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("abuse")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / f"{DOC}.txt").write_bytes(MISSION.read_bytes())
    build_index([corpus], root / "index", workers=1)
    return root / "index"


@pytest.fixture(scope="module")
def client(index_dir: Path):
    return create_app({"KB_INDEX": str(index_dir), "TESTING": True}).test_client()


def test_every_method_on_every_route_is_answered_without_a_5xx(client) -> None:
    for route in ROUTES:
        for method in METHODS:
            response = client.open(route, method=method)
            assert response.status_code < 500, (method, route, response.status_code)
            if method not in ("GET", "HEAD", "OPTIONS"):
                assert response.status_code in (404, 405), (method, route, response.status_code)
            for name in SECURITY_HEADERS:
                assert name in response.headers, (method, route, name)
            response.close()  # a file sent (/doc/<id>/original) is closed as the server closes it


def test_many_parameters_and_invalid_utf8_urls_get_4xx_or_an_answer(client) -> None:
    many = "&".join(f"p{i}=x" for i in range(5000))
    for url in (f"/search?q=交通&{many}", f"/api/search?{many}", "/search?q=%FF%FE%80", "/doc/%FF%FE",
                "/api/docs/%C0%AF", "/p/%ED%A0%80", "/search?page=%FF&q=%00", "/api/search?q=" + "%E4" * 3000):
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)


def test_the_host_header_never_builds_a_link(client) -> None:
    page = client.get(f"/doc/{DOC}", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "evil.example" not in page
    assert 'data-base="/p/"' in page  # the permalinks the page's citations use are relative
    response = client.get("/p/nope", headers={"Host": "evil.example"})
    assert "evil.example" not in response.headers.get("Location", "")


def test_error_pages_name_no_absolute_path(tmp_path: Path, index_dir: Path) -> None:
    missing = tmp_path / "srv" / "secret-place" / "index"
    app = create_app({"KB_INDEX": str(missing), "TESTING": True}).test_client()
    for url in ("/", "/search?q=x", "/api/search?q=x"):
        response = app.get(url)
        assert response.status_code == 503
        body = response.get_data(as_text=True)
        assert str(tmp_path) not in body and "secret-place" not in body, body
    for url in ("/doc/nope", "/api/docs/nope", "/nope"):
        body = create_app({"KB_INDEX": str(index_dir), "TESTING": True}).test_client().get(url).get_data(as_text=True)
        assert str(index_dir) not in body and "Traceback" not in body


# --- the real server ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(index_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONIOENCODING="utf-8")
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--index", str(index_dir), "--port", str(port)],
                                stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        proc.kill()
        proc.wait(10)
        text = log.read_text()
        assert "Traceback" not in text, text


def _raw(port: int, request: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        chunks = []
        while True:
            try:
                block = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not block:
                break
            chunks.append(block)
        return b"".join(chunks)


def _get(port: int, path: str = "/healthz", timeout: float = 10) -> bytes:
    from urllib.parse import quote

    return _raw(port, f"GET {quote(path, safe='/?=&')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
                timeout)


def test_waitress_own_errors_carry_the_security_headers(server: int) -> None:
    huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
    bad = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"
    body = b"POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n" + b"x" * 1000
    for request in (huge, bad, body, b"\x00\xff garbage\r\n\r\n", b"GET /%FF%FE HTTP/1.1\r\nHost: x\r\n\r\n"):
        answer = _raw(server, request)
        head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        status = int(head.split(" ", 2)[1])
        assert 400 <= status < 500, head
        for name in SECURITY_HEADERS:
            assert name.lower() in head.lower(), (name, head)


def test_150_slow_clients_do_not_starve_the_others(server: int) -> None:
    slow = []
    try:
        for _ in range(150):  # each sends a first header byte, then holds its socket
            s = socket.create_connection(("127.0.0.1", server), timeout=5)
            s.sendall(b"G")
            slow.append(s)
        time.sleep(1)
        for s in slow[:50]:
            s.sendall(b"E")  # still trickling
        for _ in range(3):
            started = time.monotonic()
            answer = _get(server, "/api/search?q=交通", timeout=10)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            assert time.monotonic() - started < 5
    finally:
        for s in slow:
            s.close()


def test_the_start_page_lists_a_bounded_number_of_documents(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from web import views

    client = create_app({"KB_INDEX": str(index_dir), "TESTING": True}).test_client()
    full = client.get("/").get_data(as_text=True)
    assert "（共 1 篇" in full and f'href="/doc/{DOC}"' in full
    monkeypatch.setattr(views, "START_DOCS", 0)  # the newest START_DOCS; the rest through /docs
    capped = client.get("/").get_data(as_text=True)
    assert "（共 1 篇" in capped and 'href="/docs"' in capped and f'href="/doc/{DOC}"' not in capped
