"""The floor: the cheapest write this stack can serve. FastAPI, uvicorn (uvloop, httptools) and
one INSERT of one row through raw asyncpg, no transaction block. Every figure ``make bench``
reports is a ratio against this app, measured in the same run."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from decimal import Decimal

import asyncpg
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict

URL = os.environ["BENCH_FLOOR_DSN"]
POOL = int(os.environ.get("BENCH_POOL_SIZE", "32"))

INSERT = "INSERT INTO bench_floor (name, amount) VALUES ($1, $2) RETURNING id, created_at"


class RowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    amount: Decimal


class RowOut(BaseModel):
    id: str
    name: str
    amount: str


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.pool = await asyncpg.create_pool(URL, min_size=POOL, max_size=POOL)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan, telemetry={"tracing": False, "metrics": False, "logs": False})


@app.post("/rows", status_code=201, response_model=RowOut)
async def create_row(body: RowIn, request: Request) -> RowOut:
    async with request.app.state.pool.acquire() as conn:
        row = await conn.fetchrow(INSERT, body.name, body.amount)
    return RowOut(id=str(row["id"]), name=body.name, amount=f"{body.amount:.2f}")


@app.get("/rows/{row_id}", response_model=RowOut)
async def read_row(row_id: int, request: Request) -> RowOut:
    async with request.app.state.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT id, name, amount FROM bench_floor WHERE id = $1", row_id)
    return RowOut(id=str(row["id"]), name=row["name"], amount=f"{row['amount']:.2f}")
