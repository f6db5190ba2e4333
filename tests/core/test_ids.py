import itertools

from app.core.ids import uuid7


def test_uuid7_is_strictly_increasing_and_version_7():
    ids = [uuid7() for _ in range(20_000)]
    assert all(a < b for a, b in itertools.pairwise(ids))
    assert {i.version for i in ids} == {7}
    assert len(set(ids)) == len(ids)
