import pytest

from kamalnb.errors import ConfigError
from kamalnb.extension import LETS_ENCRYPT, Extension


def test_the_proxy_settings_and_their_defaults() -> None:
    assert Extension.from_config({}) == Extension(acme_ca=LETS_ENCRYPT, acme_ca_root=None, shared_certificate=False)
    settings = Extension.from_config({"proxy": {"acme_ca": "https://ca.test/dir", "acme_ca_root": "ca.pem",
                                                "shared_certificate": True}})
    assert (settings.acme_ca, settings.acme_ca_root, settings.shared_certificate) == (
        "https://ca.test/dir", "ca.pem", True)


@pytest.mark.parametrize(("proxy", "message"), [
    ({"acme_ca": "http://ca.test/dir"}, "x-kamalnb/proxy/acme_ca: should be an ACME directory URL starting with https://"),
    ({"acme_ca_root": ""}, "x-kamalnb/proxy/acme_ca_root: should be the path of a PEM file"),
    ({"shared_certificate": "yes"}, "x-kamalnb/proxy/shared_certificate: should be true or false"),
    ({"acme": "x"}, "x-kamalnb/proxy/acme: unknown key (known: acme_ca, acme_ca_root, image, shared_certificate)"),
])
def test_bad_proxy_settings_are_refused_naming_the_key(proxy: dict, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Extension.from_config({"proxy": proxy})
    assert str(raised.value).startswith(message)


def test_on_failure_is_revert_unless_keep_is_asked_for() -> None:
    assert Extension.from_config({}).on_failure == "revert"
    assert Extension.from_config({"on_failure": "keep"}).on_failure == "keep"
    with pytest.raises(ConfigError) as raised:
        Extension.from_config({"on_failure": True})
    assert str(raised.value).startswith("x-kamalnb/on_failure: should be revert or keep, not True")
