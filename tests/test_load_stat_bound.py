"""A graph file over the size limit is refused from its stat, before any of it is read."""
import pytest

from graphcore import fileformat, limits
from graphcore.tensorfile import GraphFormatError


@pytest.fixture
def small_budget(monkeypatch):
    monkeypatch.delenv(limits.MEMORY_ENV, raising=False)
    limits.set_memory_limit(5 << 20, children=False)  # a file limit of 1 MB
    yield fileformat.max_file_bytes()
    limits.set_memory_limit(None, children=False)


def test_oversized_file_is_refused_without_opening_it(small_budget, tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.truncate(small_budget + 1)  # sparse: no disk used
    opened = []
    monkeypatch.setattr(fileformat, "open", lambda *a, **k: opened.append(a) or pytest.fail("opened"),
                        raising=False)
    with pytest.raises(GraphFormatError, match=r"too large \(1\.0 MB\); the limit is 1 MB"):
        fileformat.load(path)
    assert opened == []


def test_a_file_at_the_limit_is_still_read(small_budget, tmp_path):
    path = tmp_path / "pad.json"
    path.write_bytes(b" " * small_budget)
    with pytest.raises(GraphFormatError) as ei:  # read and parsed: blank is not a graph
        fileformat.load(path)
    assert "too large" not in str(ei.value)
