"""A small suite for the inner pytest runs of the plugin tests: one case of each verdict."""

SAMPLE_SUITE = """
import pytest

def test_passes():
    pass

def test_fails():
    assert 1 + 1 == 3, "the kernel said 2, the spec expected 3"

def test_skips():
    pytest.skip("no move_phys_pages on this kernel")

@pytest.mark.parametrize("who", ["unprivileged", "userns_root"])
def test_eperm(who):
    pass

@pytest.mark.xfail(reason="known RFC bug")
def test_known_bug():
    assert False

@pytest.fixture
def broken():
    raise RuntimeError("set-up broke")

def test_setup_error(broken):
    pass
"""
