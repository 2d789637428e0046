"""textclf serve: FastAPI's TestClient for the contract, and one real uvicorn process under concurrent load."""

import contextlib
import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import datasets
import httpx
import pytest
from conftest import DATA, ROOT

from textclf import load_classifier
from textclf.serve.http import create_app


@pytest.fixture(scope="module")
def served(trained_run):
    from fastapi.testclient import TestClient

    clf = load_classifier(str(trained_run[0] / "best.ckpt"))
    with TestClient(create_app(clf, max_body_bytes=50_000)) as client:
        yield clf, client


@pytest.fixture(scope="module")
def texts():
    return datasets.load_dataset(str(DATA / "sst2"), split="test")["text"][:200]


def test_predict_answers_as_predict_does(served, texts):
    clf, client = served
    r = client.post("/predict", json={"texts": texts[:50], "top_k": 1})
    assert r.status_code == 200
    assert same(r.json(), clf.predict(texts[:50], top_k=1))
    long = " ".join(texts[:100])  # ~2,000 tokens, far over max_length: truncated as in training
    assert same(client.post("/predict", json={"texts": [long]}).json(), clf.predict([long]))


def test_health_labels_and_docs(served):
    clf, client = served
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/labels").json() == {"labels": clf.label_names}
    assert client.get("/docs").status_code == 200
    assert "/predict" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_need_no_network(served, page):
    """Every script and style sheet the docs pages load comes from the server itself (no CDN): each is a
    path here, and is served."""
    import re

    html = served[1].get(page).text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"""[a-z_]+_url: *['"]([^'"]+)""", html)
    assets += re.findall(r"""url: *['"]([^'"]+)['"]""", html)
    scripts = [a for a in assets if a.endswith((".js", ".css"))]
    assert scripts, html
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    for asset in scripts:
        r = served[1].get(asset)
        assert r.status_code == 200 and len(r.content) > 10_000, asset


@pytest.mark.parametrize("body,fragment", [
    ({"texts": []}, "at least 1"),
    ({"texts": ["fine", "  "]}, "text 2 is empty"),
    ({"texts": ["fine"], "top_k": 0}, "greater than or equal to 1"),
    ({"text": "fine"}, "texts"),
    ({"texts": "fine"}, "list"),
])
def test_bad_requests_get_422_naming_the_problem(served, body, fragment):
    r = served[1].post("/predict", json=body)
    assert r.status_code == 422 and fragment in json.dumps(r.json())


def test_a_body_over_the_limit_gets_413(served):
    r = served[1].post("/predict", json={"texts": ["x" * 1000] * 60})
    assert r.status_code == 413 and "limit" in r.json()["detail"]


@pytest.mark.parametrize("raw,fragment", [
    ('{"texts": ["fine"], "top_k": NaN}', "top_k"),
    ('{"texts": ["fine"], "top_k": Infinity}', "top_k"),
    ('{"texts": ["fine"], "top_k": -Infinity}', "top_k"),
    ('{"texts": [NaN]}', "texts"),
    ('{"texts": ["fine", 3]}', "texts"),
])
def test_values_json_cannot_carry_get_422_not_500(served, raw, fragment):
    r = served[1].post("/predict", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and fragment in json.dumps(r.json()), r.text


def test_a_chunked_body_over_the_limit_gets_413_without_being_read_whole(served):
    sent = []

    def chunks():  # no Content-Length: the limit must hold on the bytes read
        yield b'{"texts": ["'
        for _ in range(400):
            sent.append(1)
            yield b"x" * 1000
        yield b'"]}'

    r = served[1].post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def same(got: list[dict], want: list[dict]) -> bool:
    """predict's records: the same texts and labels, probabilities within 1e-5 (a text's float rounding
    depends on the batch it ran in)."""
    return len(got) == len(want) and all(
        g["text"] == w["text"] and g["label"] == w["label"] and g["probs"].keys() == w["probs"].keys()
        and all(abs(g["probs"][k] - w["probs"][k]) <= 1e-5 for k in w["probs"]) for g, w in zip(got, want))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(ckpt: str):
    """A real `textclf serve` process on a free port, once it answers /health: yields its URL."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "textclf.cli", "serve", ckpt, "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_a_real_server_under_concurrent_load_answers_every_request_as_predict(trained_run, texts):
    ckpt = str(trained_run[0] / "best.ckpt")
    with serving(ckpt) as url:
        expected = load_classifier(ckpt).predict(texts)

        def client(c: int) -> list[bool]:
            with httpx.Client(base_url=url, timeout=30) as http:
                ok = []
                for i in range(10):
                    start = (c * 10 + i) % (len(texts) - 3)
                    got = http.post("/predict", json={"texts": texts[start:start + 3]}).json()
                    ok.append(same(got, expected[start:start + 3]))
                return ok

        with ThreadPoolExecutor(16) as pool:
            answers = [ok for oks in pool.map(client, range(16)) for ok in oks]
        assert len(answers) == 160 and all(answers)
        health = httpx.get(f"{url}/health").json()
        assert health["texts"] == 480 and health["batches"] < 160  # concurrent requests shared batches


@pytest.mark.slow
def test_a_real_server_holds_its_body_limit_on_a_chunked_body(trained_run):
    with serving(str(trained_run[0] / "best.ckpt")) as url:
        def body():  # 20 MB, chunked: no Content-Length header
            yield b'{"texts": ["'
            for _ in range(20_000):
                yield b"y" * 1000
            yield b'"]}'

        started = time.perf_counter()
        try:
            r = httpx.post(f"{url}/predict", content=body(), headers={"content-type": "application/json"}, timeout=60)
            assert r.status_code == 413
        except httpx.TransportError:  # the server may answer 413 and close while the client still sends
            pass
        assert time.perf_counter() - started < 30
        assert httpx.post(f"{url}/predict", json={"texts": ["still up"]}).status_code == 200


@pytest.mark.parametrize("args,message", [
    (["--port", "99999"], "argument --port: expected a port number from 1 to 65535, got '99999'"),
    (["--port", "0"], "argument --port: expected a port number from 1 to 65535"),
    (["--max_wait_ms", "nan"], "argument --max_wait_ms: expected milliseconds, 0 or more"),
])
def test_serve_refuses_bad_addresses_in_one_line(trained_run, cli, args, message):
    done = cli("serve", trained_run[0] / "best.ckpt", *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_serve_on_a_port_in_use_is_one_line(trained_run, cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("serve", trained_run[0] / "best.ckpt", "--port", port)
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1
