"""Who may call the service (SPEC.md section 1)."""

from __future__ import annotations

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
