"""The baseline for create throughput: a bare FastAPI route doing one SQLite insert (same engine settings as ours)."""

import os
import uuid

import sqlalchemy as sa
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse

from wholesale.db.session import Database

db = Database(os.environ["WHOLESALE_DATABASE_URL"])
with db.transaction() as s:
    s.execute(sa.text("CREATE TABLE IF NOT EXISTS bench_rows (id TEXT PRIMARY KEY, body TEXT)"))
app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/insert")
async def insert(request: Request) -> JSONResponse:
    body = (await request.body()).decode()
    row_id = str(uuid.uuid4())

    def write() -> None:
        with db.transaction() as s:
            s.execute(sa.text("INSERT INTO bench_rows (id, body) VALUES (:id, :body)"), {"id": row_id, "body": body})

    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(write)
    return JSONResponse({"url": f"/insert/{row_id}"}, status_code=202)
