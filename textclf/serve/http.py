"""`textclf serve CKPT`: an HTTP server (FastAPI + uvicorn) that answers as `textclf predict` does.

    POST /predict {"texts": ["...", ...], "top_k": 2}  -> [{"text", "label", "score", "probs"}, ...]
    GET  /health   -> {"status": "ok", "batches": n, "texts": n}     GET /labels -> {"labels": [...]}
    GET  /docs     -> the OpenAPI page

Requests from many clients are micro-batched: the first waiting request opens a batch, which closes
when it holds `max_batch` texts or `max_wait_ms` has passed, and the whole batch runs as one call of the
classifier's `predict_proba` (in one worker thread, so the model is never run twice at once). A text is
encoded as in training (truncated to the checkpoint's max_length). A bad request gets 422 naming the
problem; a body over `max_body_bytes` gets 413.
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


def create_app(clf: Predictions, max_batch: int = 64, max_wait_ms: float = 5.0, max_body_bytes: int = MAX_BODY_BYTES,
               name: str = "textclf"):
    """The FastAPI application serving `clf`."""
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse

    batcher = MicroBatcher(clf.predict_proba, max_batch, max_wait_ms)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title=f"{name}: text classification", lifespan=lifespan,
                  description=f"Labels: {', '.join(clf.label_names)}. The same records as `textclf predict`.")

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            return JSONResponse(status_code=413, content={
                "detail": f"request body of {int(length):,} bytes is over the {max_body_bytes:,}-byte limit: "
                          "send fewer texts per request"})
        return await call_next(request)

    @app.post("/predict", response_model=list[Prediction])
    async def predict(req: PredictRequest) -> list[dict]:
        try:
            probs = await batcher.submit(req.texts)
        except Exception as err:
            raise HTTPException(status_code=500, detail=f"prediction failed: {err}") from err
        return clf.records(req.texts, probs, req.top_k)

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
