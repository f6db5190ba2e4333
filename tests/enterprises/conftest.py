"""Factories for enterprises: fresh credit codes (so tests never collide, committed or not),
request bodies, and enterprises created through the service in the test's transaction."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from app.core import outbox
from app.enterprises import service as enterprises_service
from app.enterprises.schemas import EnterpriseCreate, EnterpriseOut
from app.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char

# The subject each role's key needs.
SUBJECTS = {"relationship_manager": "RM001", "district_bureau": "440307"}


async def tick() -> None:
    """Let a millisecond pass: ids are UUIDv7, ordered by creation only to the millisecond,
    so a test that checks newest-first order spaces its records out."""
    await asyncio.sleep(0.002)


def new_credit_code(prefix: str = "91440307") -> str:
    body = prefix + "".join(secrets.choice(CREDIT_CODE_ALPHABET) for _ in range(17 - len(prefix)))
    return body + credit_code_check_char(body)


def enterprise_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "深圳市龙岗智能制造科技有限公司",
        "credit_code": new_credit_code(),
        "district_code": "440307",
        "industry": "artificial_intelligence",
        "high_tech": True,
        "cross_border": False,
    }
    body.update(overrides)
    return body


@pytest.fixture
def key_for(make_key):
    """``await key_for("relationship_manager")``: headers of a fresh key, with a subject where
    the role needs one."""

    async def issue(role: str) -> dict[str, str]:
        return await make_key(role, SUBJECTS.get(role))

    return issue


@pytest.fixture
def make_enterprise(ctx):
    async def create(**overrides: Any) -> EnterpriseOut:
        await tick()
        enterprise = await enterprises_service.create_enterprise(
            ctx, enterprise_in=EnterpriseCreate(**enterprise_body(**overrides))
        )
        await outbox.flush(ctx)
        return enterprise

    return create
