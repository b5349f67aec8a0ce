"""The floor of issue 15's ratios: a FastAPI `async` route doing one raw insert in autocommit, nothing else.

SQLite: one `sqlite3` connection in WAL mode with synchronous=NORMAL, autocommit. PostgreSQL: one psycopg connection, autocommit. The
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
    # As ours (db/session.py): with SQLite's default FULL every commit waits for an fsync of the WAL, which on
    # this machine's disk caps the floor near 250/s and would flatter every ratio.
    conn.execute("PRAGMA synchronous=NORMAL")
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
