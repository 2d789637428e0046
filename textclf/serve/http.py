"""`textclf serve CKPT`: an HTTP server (FastAPI + uvicorn) that answers as `textclf predict` does.

    POST /predict {"texts": ["...", ...], "top_k": 2}  -> [{"text", "label", "score", "probs"}, ...]
                  (a multi-label model: records with "labels" too; "threshold": 0.3 replaces its thresholds)
    GET  /health   -> {"status": "ok", "batches": n, "texts": n}     GET /labels -> {"labels": [...]}
    GET  /docs     -> the OpenAPI page

Requests from many clients are micro-batched: the first waiting request opens a batch, which closes
when it holds `max_batch` texts or `max_wait_ms` has passed, and the whole batch runs as one call of the
classifier's `predict_proba` (in one worker thread, so the model is never run twice at once). A text is
encoded as in training (truncated to the checkpoint's max_length). A bad request gets 422 naming the
problem; a body over `max_body_bytes` gets 413, counted on the bytes read whatever the headers say
(a chunked body has no Content-Length).
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from pydantic import BaseModel, Field, field_validator

from textclf.serve.predictions import Predictions

MAX_BODY_BYTES = 2 * 2**20
MAX_TEXTS = 1024  # texts per request


class PredictRequest(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS, description="the texts to classify")
    top_k: int | None = Field(default=None, ge=1, description="keep the k most likely labels in probs")
    threshold: float | None = Field(default=None, ge=0.0, le=1.0,
                                    description="multi-label models: one decision threshold for every label")

    @field_validator("texts")
    @classmethod
    def non_empty(cls, texts: list[str]) -> list[str]:
        for i, text in enumerate(texts):
            if not text.strip():
                raise ValueError(f"text {i + 1} is empty: send non-empty texts")
        return texts


class Prediction(BaseModel):
    text: str
    label: str
    score: float
    labels: list[str] | None = Field(default=None, description="multi-label models: the labels over threshold")
    probs: dict[str, float]


class MicroBatcher:
    """Collects the texts of concurrent requests into batches for one `predict_proba` call each."""

    def __init__(self, predict_proba, max_batch: int = 64, max_wait_ms: float = 5.0):
        self.predict_proba, self.max_batch, self.max_wait = predict_proba, max_batch, max_wait_ms / 1000
        self.queue: asyncio.Queue | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="textclf-model")
        self.batches = self.texts = 0

    async def start(self) -> None:
        self.queue = asyncio.Queue()
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.executor.shutdown(wait=False)

    async def submit(self, texts: list[str]) -> np.ndarray:
        """Class probabilities of `texts`, computed in a batch with other requests' texts."""
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((texts, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self.queue.get()]
            size, deadline = len(items[0][0]), loop.time() + self.max_wait
            while size < self.max_batch:
                try:
                    item = await asyncio.wait_for(self.queue.get(), max(deadline - loop.time(), 0))
                except asyncio.TimeoutError:
                    break
                items.append(item)
                size += len(item[0])
            texts = [t for batch, _ in items for t in batch]
            try:
                probs = await loop.run_in_executor(self.executor, self.predict_proba, texts)
            except Exception as err:  # the requests fail, the server stays up
                for _, future in items:
                    if not future.done():
                        future.set_exception(err)
                continue
            self.batches += 1
            self.texts += len(texts)
            start = 0
            for batch, future in items:
                if not future.done():  # a client that went away leaves a cancelled future
                    future.set_result(probs[start:start + len(batch)])
                start += len(batch)


def too_large(max_body_bytes: int, size: int | None = None) -> str:
    said = f"of {size:,} bytes " if size is not None else ""
    return f"request body {said}is over the {max_body_bytes:,}-byte limit: send fewer texts per request"


class BodyLimit:
    """ASGI middleware: a request whose body is over `max_body_bytes` gets 413. A declared Content-Length
    is refused before anything is read; any body, chunked included, stops being read at the limit."""

    def __init__(self, app, max_body_bytes: int):
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from fastapi import HTTPException
        from fastapi.responses import JSONResponse

        length = dict(scope.get("headers") or []).get(b"content-length", b"").decode("latin-1")
        if length.isdigit() and int(length) > self.max_body_bytes:
            response = JSONResponse(status_code=413, content={"detail": too_large(self.max_body_bytes, int(length))})
            return await response(scope, receive, send)
        read = 0

        async def limited_receive():
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_body_bytes:  # FastAPI answers an HTTPException raised while reading the body
                    raise HTTPException(status_code=413, detail=too_large(self.max_body_bytes))
            return message

        await self.app(scope, limited_receive, send)


def _errors(errors) -> list[dict]:
    """Pydantic's validation errors without the values sent: a NaN or Infinity in them is not JSON."""
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors]


def create_app(clf: Predictions, max_batch: int = 64, max_wait_ms: float = 5.0, max_body_bytes: int = MAX_BODY_BYTES,
               name: str = "textclf"):
    """The FastAPI application serving `clf`."""
    from fastapi import HTTPException, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    batcher = MicroBatcher(clf.predict_proba, max_batch, max_wait_ms)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    from fastapi_offline import (
        FastAPIOffline,  # /docs and /redoc from installed files: they work without a network
    )

    app = FastAPIOffline(title=f"{name}: text classification", lifespan=lifespan,
                  description=f"Labels: {', '.join(clf.label_names)}. The same records as `textclf predict`.")

    app.add_middleware(BodyLimit, max_body_bytes=max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, err: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": _errors(err.errors())})

    @app.post("/predict", response_model=list[Prediction], response_model_exclude_none=True)
    async def predict(req: PredictRequest) -> list[dict]:
        if req.threshold is not None and not clf.multi_label:
            raise HTTPException(status_code=422, detail="threshold applies to multi-label models; this one gives each "
                                "text its most likely class: drop it")
        try:
            probs = await batcher.submit(req.texts)
        except Exception as err:
            raise HTTPException(status_code=500, detail=f"prediction failed: {err}") from err
        return clf.records(req.texts, probs, req.top_k, req.threshold)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "batches": batcher.batches, "texts": batcher.texts}

    @app.get("/labels")
    async def labels() -> dict:
        return {"labels": list(clf.label_names)}

    return app


def serve(clf: Predictions, host: str = "127.0.0.1", port: int = 8000, max_batch: int = 64, max_wait_ms: float = 5.0,
          name: str = "textclf") -> None:
    import uvicorn

    uvicorn.run(create_app(clf, max_batch, max_wait_ms, name=name), host=host, port=port, log_level="warning")
