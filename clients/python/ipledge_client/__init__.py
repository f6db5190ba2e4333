"""ipledge-client: the ipledge API for Python, sync and async.

from ipledge_client import Client, models

with Client("http://127.0.0.1:8000", token=api_key) as api:
    enterprise = api.create_enterprise(models.EnterpriseCreate(...))
    for application in api.iter_applications(state="submitted"):
        ...
"""

from ipledge_client import models, problem_types
from ipledge_client.client import AsyncClient, Client
from ipledge_client.problems import (
    BadRequest,
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    NotFound,
    PreconditionFailed,
    Problem,
    ServerError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthenticated,
    UnprocessableContent,
)
from ipledge_client.transport import RetryPolicy

__all__ = [
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "Forbidden",
    "IdempotencyKeyReused",
    "IdempotencyRequestInProgress",
    "NotFound",
    "PreconditionFailed",
    "Problem",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthenticated",
    "UnprocessableContent",
    "models",
    "problem_types",
]
