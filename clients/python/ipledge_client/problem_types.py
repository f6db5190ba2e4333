"""The problem types the API names, one exception class each (generated)."""

from ipledge_client._problem_types import *  # noqa: F403
from ipledge_client._problem_types import BY_SLUG, __all__  # noqa: F401
