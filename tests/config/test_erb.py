"""The ERB forms deploy.yml files use, and clear errors for the rest."""

from __future__ import annotations

import pytest

from kamalnb.config.erb import render
from kamalnb.errors import ConfigError

ENV = {"NAME": "value", "EMPTY": "", "QUOTE": 'a"b'}


@pytest.mark.parametrize("template, expected", [
    ('<%= ENV["NAME"] %>', "value"),
    ("<%= ENV['NAME'] %>", "value"),
    ('<%= ENV["MISSING"] %>', ""),
    ('<%= ENV["MISSING"] || "fallback" %>', "fallback"),
    ('<%= ENV["EMPTY"] || "fallback" %>', ""),
    ('<%= ENV.fetch("NAME") %>', "value"),
    ('<%= ENV.fetch("MISSING", "dflt") %>', "dflt"),
    ("<%= ENV.fetch('MISSING', 'it\\'s') %>", "it's"),
    ('<%= ENV.fetch("MISSING", nil) %>', ""),
    ('<%= ENV.fetch("EMPTY", "dflt") %>', ""),
    ('<%=ENV["QUOTE"]%>', 'a"b'),
    ("a: <%= ENV['NAME'] -%>\nb: 1\n", "a: valueb: 1\n"),
    ("a:\n  <%-# comment -%>\nb\n", "a:\nb\n"),
    ("x: <%# ignored %>1\n", "x: 1\n"),
    ("literal: <%%= kept %>\n", "literal: <%= kept %>\n"),
    ("no tags at all\n", "no tags at all\n"),
])
def test_supported_forms(template: str, expected: str) -> None:
    assert render(template, ENV, "deploy.yml") == expected


@pytest.mark.parametrize("template, message", [
    ("a: 1\nb: <%= `hostname` %>\n", "deploy.yml:2: unsupported ERB `<%= `hostname` %>`"),
    ("<% if true %>\n", "deploy.yml:1: unsupported ERB `<% if true %>`: only output tags are understood"),
    ("\n\n<%= Kamal::Utils.docker_arch %>", "deploy.yml:3: unsupported ERB `<%= Kamal::Utils.docker_arch %>`"),
    ('<%= ENV.fetch("MISSING") %>', 'deploy.yml:1: ENV.fetch("MISSING") failed: the environment variable MISSING is not set'),
    ("x: <%= ENV['A']", "deploy.yml:1: ERB tag `<%` is never closed with `%>`"),
])
def test_anything_else_names_the_line(template: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        render(template, ENV, "deploy.yml")
    assert str(raised.value).startswith(message)
