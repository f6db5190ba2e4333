"""Who may call the service (SPEC.md section 1)."""

from __future__ import annotations

import re
from enum import StrEnum


class Role(StrEnum):
    BANK_SYSTEM = "bank_system"
    RELATIONSHIP_MANAGER = "relationship_manager"
    CREDIT_OFFICER = "credit_officer"
    DISTRICT_BUREAU = "district_bureau"
    SECURITIZATION = "securitization"
    ADMIN = "admin"


ALL_ROLES = frozenset(Role)

BANK_ROLES = frozenset(
    {
        Role.BANK_SYSTEM,
        Role.RELATIONSHIP_MANAGER,
        Role.CREDIT_OFFICER,
        Role.SECURITIZATION,
        Role.ADMIN,
    }
)

# Roles whose keys name a subject: the relationship manager's id, the bureau's district code.
SUBJECT_ROLES = frozenset({Role.RELATIONSHIP_MANAGER, Role.DISTRICT_BUREAU})

# How those subjects are written, whether on a key or in a bearer token's claim: a
# relationship manager's id, and a district code (a bureau's key also names a known district).
RM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")
DISTRICT_CODE = re.compile(r"[0-9]{6}")
