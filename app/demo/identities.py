"""Realistic identities for the demo's enterprise and its IP, valid under SPEC 3.1.

Check characters are computed with the service's own rules (``app.identifiers``), so every
code the demo sends is one the service accepts; a fresh random body each run keeps them
unique in a database that earlier runs have used.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char, patent_check_digit

# GB 11714 organisation code (characters 9-17 of a credit code): 8 characters and a check
# character over weights 3, 7, 9, 10, 5, 8, 4, 2, mod 11 (10 is written X).
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY_CHARS = "".join(c for c in CREDIT_CODE_ALPHABET if c not in "XY")


def _org_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def organisation_code(body: str) -> str:
    """The 9-character organisation code whose first 8 characters are ``body``."""
    check = 11 - sum(_org_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(rng: random.Random, *, division: str = "440300") -> str:
    """A unified social credit code of a company registered in Shenzhen (``91`` + the
    registering division + an ``MA``-series organisation code), as issued since 2015."""
    body = "MA5" + "".join(rng.choice(_ORG_BODY_CHARS) for _ in range(5))
    first17 = "91" + division + organisation_code(body)
    return first17 + credit_code_check_char(first17)


_TYPE_DIGIT = {"invention_patent": "1", "utility_model": "2", "design_patent": "3"}


def patent_number(rng: random.Random, kind: str, filed_in: int) -> str:
    """A CNIPA application number such as ``201910612345.7`` (year, type digit, serial,
    check digit)."""
    body = f"{filed_in}{_TYPE_DIGIT[kind]}{rng.randint(100_000, 1_399_999):07d}"
    return f"{body}.{patent_check_digit(body)}"


@dataclass(frozen=True)
class Asset:
    kind: str
    title: str
    filed_in: int
    value: str  # the appraisal, CNY

    def protection_expires_on(self) -> date:
        """Invention patents run 20 years from filing and utility models 10 (Patent Law
        art. 42); a company's software copyright 50 years from first publication."""
        years = {"invention_patent": 20, "utility_model": 10}.get(self.kind, 50)
        return date(self.filed_in + years, 6, 30)

    def body(self, holder_id: str, rng: random.Random) -> dict[str, Any]:
        if self.kind == "software_copyright":
            number = software_copyright_number(rng, self.filed_in)
        else:
            number = patent_number(rng, self.kind, self.filed_in)
        return {
            "kind": self.kind,
            "number": number,
            "title": self.title,
            "holder_enterprise_id": holder_id,
            "protection_expires_on": self.protection_expires_on().isoformat(),
        }


def software_copyright_number(rng: random.Random, year: int) -> str:
    """A 计算机软件著作权 registration number, e.g. ``2023SR0456789``."""
    return f"{year}SR{rng.randint(0, 1_999_999):07d}"


ENTERPRISE = {
    "name": "深圳市衡云智算科技有限公司",
    "english": "Shenzhen Hengyun Intelligent Computing Co., Ltd.",
    "district_code": "440305",
    "district": "Nanshan",
    "industry": "artificial_intelligence",
}

# What each application pledges. The first set secures the loan the demo approves: together
# worth more than twice its amount, with an invention patent among them.
APPROVED_ASSETS = (
    Asset("invention_patent", "一种基于多模态大模型的工业缺陷检测方法", 2019, "7200000.00"),
    Asset("utility_model", "一种边缘推理加速卡的散热结构", 2022, "3600000.00"),
)
HOLIDAY_ASSETS = (
    Asset("invention_patent", "一种面向低空物流无人机的路径规划方法", 2020, "26000000.00"),
)
LARGE_ASSETS = (
    Asset("invention_patent", "一种分布式训练任务的显存调度方法及系统", 2021, "48000000.00"),
    Asset("software_copyright", "衡云智算推理调度平台软件V3.0", 2023, "9000000.00"),
)
