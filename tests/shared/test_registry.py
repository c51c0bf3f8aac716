import pytest

from shared.errors import UnknownNameError
from shared.registry import Registry


def test_register_get_and_suggest():
    reg = Registry("widget")

    @reg.register("alpha")
    def alpha():
        return 1

    reg.register("beta", 2)
    assert reg.get("alpha") is alpha and reg.get("beta") == 2
    assert reg.names() == ["alpha", "beta"] and "alpha" in reg and len(reg) == 2
    with pytest.raises(UnknownNameError, match="unknown widget 'alpah'; choose one of: alpha, beta. Did you mean 'alpha'"):
        reg.get("alpah")


def test_duplicate_names_are_refused():
    reg = Registry("widget")
    reg.register("a", 1)
    reg.register("a", 1)  # the same object again is harmless
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", 2)


def test_empty_registry_message():
    with pytest.raises(UnknownNameError, match=r"\(none registered\)"):
        Registry("thing").get("x")
