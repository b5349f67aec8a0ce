"""The floor of issue 15's ratios: a FastAPI `async` route doing one raw insert in autocommit, nothing else.

SQLite: one `sqlite3` connection in WAL mode, autocommit. PostgreSQL: one psycopg connection, autocommit. The
database is WHOLESALE_DATABASE_URL (a database of its own: the floor's table is all it writes).
"""

import os
import sqlite3
import uuid

import psycopg
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse

URL = os.environ["WHOLESALE_DATABASE_URL"]
if URL.startswith("sqlite"):
    conn: sqlite3.Connection | psycopg.Connection = sqlite3.connect(
        URL.split(":///", 1)[1], isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode=WAL")
    INSERT = "INSERT INTO floor_rows (id, body) VALUES (?, ?)"
else:
    conn = psycopg.connect(URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    INSERT = "INSERT INTO floor_rows (id, body) VALUES (%s, %s)"
conn.execute("CREATE TABLE IF NOT EXISTS floor_rows (id TEXT PRIMARY KEY, body TEXT)")
app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/insert")
async def insert(request: Request) -> JSONResponse:
    body = (await request.body()).decode()
    row_id = str(uuid.uuid4())
    conn.execute(INSERT, (row_id, body))
    return JSONResponse({"url": f"/insert/{row_id}"}, status_code=202)
