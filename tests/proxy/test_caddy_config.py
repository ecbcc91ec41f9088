import pytest

from kamalnb.proxy import Route
from kamalnb.proxy import caddy_config as cc
from kamalnb.proxy.base import Certificate, conflicts, describe_claim


def test_the_proxy_container_command() -> None:
    assert str(cc.run_command("10.231.0.1:5000/kamalnb/caddy:2.6.2")) == (
        "docker run --name kamalnb-proxy --network kamal --detach --restart unless-stopped "
        "--publish 80:80 --publish 443:443 --publish 127.0.0.1:2019:2019 "
        "--volume kamalnb-proxy-config:/config "
        '--volume "$HOME/.kamal/proxy/kamalnb:/etc/kamalnb:ro" --volume "$HOME/.kamal/proxy/kamalnb/data:/data" '
        "--label kamalnb.proxy=caddy "
        "--sysctl net.ipv4.tcp_migrate_req=1 "
        "10.231.0.1:5000/kamalnb/caddy:2.6.2 run --config /etc/kamalnb/caddy.json --resume"
    )
    assert str(cc.run_command("caddy:2", 8080, 8443)).count("--publish 8080:80 --publish 8443:443") == 1


def test_the_proxy_stops_as_kamal_s_given_the_drain_timeout() -> None:
    assert str(cc.stop(20)) == "docker container stop -t 20 kamalnb-proxy"


def test_base_config_has_the_admin_api_https_on_443_and_no_automatic_https() -> None:
    config = cc.base_config()
    assert config["admin"] == {"listen": "0.0.0.0:2019"}
    assert config["storage"] == {"module": "file_system", "root": "/data/caddy"}
    assert config["apps"]["http"]["servers"]["kamalnb"] == {
        "listen": [":80", ":443"], "automatic_https": {"disable": True}, "routes": [],
        "tls_connection_policies": [{}], "protocols": ["h1", "h2"]}
    assert "tls" not in config["apps"]
    # Told to stop, Caddy answers `Connection: close` for a second before it closes its listeners.
    assert config["apps"]["http"]["shutdown_delay"] == "1s"


ACME = "https://10.231.0.1:14000/dir"


def test_certificates_obtained_by_acme_here_or_loaded_from_files() -> None:
    obtained = Certificate(("a.test", "www.a.test"), acme_ca=ACME, acme_ca_root=".kamal/proxy/kamalnb/tls/a-web.ca.pem")
    copied = Certificate(("b.test",), files=((".kamal/proxy/kamalnb/tls/b-web/b.test.crt",
                                               ".kamal/proxy/kamalnb/tls/b-web/b.test.key"),),
                         fingerprint="AB:CD", challenges_to="10.0.0.1")
    assert cc.base_config(certificates=[obtained, copied])["apps"]["tls"] == {
        "certificates": {
            "automate": ["a.test", "www.a.test"],
            "load_files": [{"certificate": "/etc/kamalnb/tls/b-web/b.test.crt",
                            "key": "/etc/kamalnb/tls/b-web/b.test.key", "tags": ["AB:CD"]}],
        },
        "automation": {"policies": [{"subjects": ["a.test", "www.a.test"], "issuers": [{
            "module": "acme", "ca": ACME, "challenges": {"tls-alpn": {"disabled": True}},
            "trusted_roots_pem_files": ["/etc/kamalnb/tls/a-web.ca.pem"]}]}]},
    }
    # What the host keeps, read back.
    listing = "".join(f".kamal/proxy/kamalnb/tls/{route}.json:{cc.certificate_json(certificate)}\n"
                      for route, certificate in (("a-web", obtained), ("b-web", copied)))
    assert cc.parse_certificates(listing) == {"a-web": obtained, "b-web": copied}
    # Where Caddy keeps what it obtained, as certmagic names it.
    assert cc.obtained_files(ACME, "A.test") == (
        "/data/caddy/certificates/10.231.0.1-14000-dir/a.test/a.test.crt",
        "/data/caddy/certificates/10.231.0.1-14000-dir/a.test/a.test.key")
    assert cc.obtained_files("https://acme-v02.api.letsencrypt.org/directory", "*.b.test")[0] == (
        "/data/caddy/certificates/acme-v02.api.letsencrypt.org-directory/"
        "wildcard_.b.test/wildcard_.b.test.crt")


def test_the_challenges_of_another_host_pass_on_and_plain_http_is_redirected() -> None:
    forward = cc.challenges_route("b-web", ("b.test",), "10.0.0.1")
    assert forward == {
        "@id": "b-web.acme",
        "match": [{"host": ["b.test"], "path": ["/.well-known/acme-challenge/*", "/.well-known/acme-challenge"]}],
        "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "10.0.0.1:80"}]}],
        "terminal": True,
    }
    # Before the app's own route for the same name.
    assert cc.route_order(cc.route_from_config(forward)) < cc.route_order(Route("b-web", hosts=("b.test",)))
    secure = cc.route_config(Route("b-web", hosts=("b.test",), path_prefix="/api", tls=True))
    assert secure["handle"][:2] == [
        {"handler": "subroute", "routes": [{
            "match": [{"protocol": "http"}],
            "handle": [{"handler": "static_response", "status_code": 308,
                        "headers": {"Location": ["https://{http.request.host}{http.request.uri}"]}}],
            "terminal": True}]},
        {"handler": "rewrite", "strip_path_prefix": "/api"},
    ]
    unredirected = cc.route_config(Route("b-web", hosts=("b.test",), tls=True, ssl_redirect=False))
    assert unredirected == cc.route_config(Route("b-web", hosts=("b.test",)))


def test_a_route_names_no_container_and_reads_its_slots_on_every_request() -> None:
    live, a, b, flag, page = ("{file./etc/kamalnb/upstreams/sample-web." + slot + "}"
                              for slot in ("live", "a", "b", "maintenance", "page"))
    assert cc.route_config(Route("sample-web")) == {
        "@id": "sample-web",
        "handle": [{
            "handler": "subroute",
            "routes": [
                {"match": [{"vars": {"{http.shutting_down}": ["true"]}}], "handle": [{
                    "handler": "headers", "response": {"set": {"Connection": ["close"]}}}]},
                {"match": [{"vars": {flag: ["on"]}}], "handle": [{
                    "handler": "static_response", "status_code": 503,
                    "headers": {"Content-Type": ["text/html; charset=utf-8"], "Retry-After": ["60"]},
                    "body": page}], "terminal": True},
                {"match": [{"vars": {live: ["a"]}}],
                 "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": a}]}], "terminal": True},
                {"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": b}]}], "terminal": True},
            ],
        }],
        "terminal": True,
    }
    assert cc.route_slot_upstreams(cc.route_config(Route("sample-web"))) == [a, b]
    routed = cc.route_config(Route("blog-web-staging", hosts=("a.test", "b.test"), path_prefix="/app/"))
    assert routed["match"] == [{"host": ["a.test", "b.test"], "path": ["/app/*", "/app"]}]
    assert cc.route_hosts(routed) == ("a.test", "b.test")
    assert cc.route_from_config(routed) == Route("blog-web-staging", ("a.test", "b.test"), "/app")


def test_more_specific_routes_order_first() -> None:
    catch_all, prefixed = Route("a"), Route("b", path_prefix="/api")
    hosted, hosted_prefixed = Route("c", hosts=("x.test",)), Route("d", hosts=("x.test",), path_prefix="/api/v1")
    ordered = sorted([catch_all, prefixed, hosted, hosted_prefixed], key=cc.route_order)
    assert [r.id for r in ordered] == ["d", "c", "b", "a"]


def test_the_slot_files_switch_with_one_rename() -> None:
    assert cc.next_file("sample-web") == ".kamal/proxy/kamalnb/sample-web.next"
    assert str(cc.switch_slots("sample-web")) == (
        "mkdir -p .kamal/proxy/kamalnb/upstreams .kamal/proxy/kamalnb/routes && cd .kamal/proxy/kamalnb/upstreams && "
        'if [ "$(cat sample-web.live 2>/dev/null)" = a ]; then next=b; else next=a; fi && '
        "mv -f ../sample-web.next sample-web.$next && "
        "touch sample-web.maintenance sample-web.page && "
        "printf %s $next > sample-web.live.tmp && mv -f sample-web.live.tmp sample-web.live")
    assert str(cc.read_slots()) == "grep -s -r -H '' .kamal/proxy/kamalnb/upstreams || true"
    assert cc.parse_slots(
        ".kamal/proxy/kamalnb/upstreams/sample-web.live:b\n"
        ".kamal/proxy/kamalnb/upstreams/sample-web.a:0123456789ab:80\n"
        ".kamal/proxy/kamalnb/upstreams/sample-web.b:ba9876543210:80\n"
        ".kamal/proxy/kamalnb/upstreams/sample-web.live.tmp:a\n") == {
        "sample-web": {"live": "b", "a": "0123456789ab:80", "b": "ba9876543210:80"}}


def test_docker_probes() -> None:
    assert str(cc.container_state()) == "docker ps --all --filter 'name=^kamalnb-proxy$' --format '{{.State}}'"
    assert str(cc.kamal_proxy_running()) == "docker ps --filter 'name=^kamal-proxy$' --format '{{.Names}}'"
    assert str(cc.ensure_network()) == (
        "docker network inspect kamal >/dev/null 2>&1 || docker network create kamal")


def test_a_fresh_proxy_starts_with_the_routes_kept_on_the_host_most_specific_first() -> None:
    saved = [cc.route_config(Route("a-web")), cc.route_config(Route("b-web", hosts=("b.test",)))]
    routes = cc.base_config(routes=saved)["apps"]["http"]["servers"]["kamalnb"]["routes"]
    assert [route["@id"] for route in routes] == ["b-web", "a-web"]
    assert cc.parse_saved_routes('{"@id": "a-web"}\n\n{"@id": "b-web"}\n') == [{"@id": "a-web"}, {"@id": "b-web"}]


def test_routes_claiming_the_same_host_and_path_conflict() -> None:
    blog, shop = Route("blog-web", hosts=("a.test",)), Route("shop-web", hosts=("A.test", "b.test"))
    assert [(r.id, o.id, c) for r, o, c in conflicts([shop], [blog])] == [("shop-web", "blog-web", ("a.test", "/"))]
    # Two catch-alls conflict; a catch-all beside host-matched routes does not.
    assert conflicts([Route("x-web")], [Route("y-web")])[0][2] == ("*", "/")
    assert conflicts([Route("x-web")], [blog]) == []
    # The same host with different path prefixes is fine; the same route again is not a conflict.
    assert conflicts([Route("api", hosts=("a.test",), path_prefix="/api/")], [blog]) == []
    assert conflicts([blog], [blog]) == []
    # Two roles (or destinations) of one deploy claiming the same requests conflict too.
    assert len(conflicts([Route("s-web"), Route("s-api")], [])) == 1
    assert describe_claim(("*", "/")) == "every host name (a catch-all route)"
    assert describe_claim(("a.test", "/api")) == "host a.test, path /api"


def test_kamal_proxy_settings_in_the_route() -> None:
    route = Route("api-web", path_prefix="/api/", response_timeout=30, max_request_body=1000,
                  request_buffers=2048, response_buffers=4096)
    config = cc.route_config(route)
    assert config["handle"][:2] == [{"handler": "request_body", "max_size": 1000},
                                    {"handler": "rewrite", "strip_path_prefix": "/api"}]
    proxy = config["handle"][2]["routes"][2]["handle"][0]
    assert proxy["transport"] == {"protocol": "http", "response_header_timeout": "30s"}
    assert (proxy["request_buffers"], proxy["response_buffers"]) == (2048, 4096)
    kept = cc.route_config(Route("api-web", path_prefix="/api", strip_path_prefix=False))
    assert kept["handle"][0]["handler"] == "subroute"


def test_boot_options_change_how_the_proxy_container_runs() -> None:
    command = str(cc.run_command("caddy:2", 8080, 8443, log_max_size="10m", docker_options=["--sysctl", "a=b"]))
    assert "--publish 8080:80 --publish 8443:443 --log-opt max-size=10m --sysctl a=b " in command
    assert ":80 " not in str(cc.run_command("caddy:2", publish=False))
    assert cc.parse_options("") == {}
    assert cc.parse_options('{"http_port": 8080}') == {"http_port": 8080}
    with pytest.raises(ValueError, match="unknown proxy boot options"):
        cc.parse_options('{"colour": "blue"}')


def test_the_follow_command() -> None:
    assert str(cc.follow_logs()) == "docker logs --tail 10 --follow kamalnb-proxy 2>&1"
    assert str(cc.follow_logs(3, "10m", "it's")) == (
        "docker logs --tail 3 --since 10m --follow kamalnb-proxy 2>&1 | grep --line-buffered -F -- 'it'\"'\"'s'")


def test_forward_headers_trust_the_client_for_this_route_only() -> None:
    handle = cc.route_config(Route("a-web", forward_headers=True, path_prefix="/api"))["handle"]
    assert handle[:2] == [{"handler": "vars", "trusted_proxy": True},
                          {"handler": "rewrite", "strip_path_prefix": "/api"}]
    assert {"handler": "vars", "trusted_proxy": True} not in cc.route_config(Route("a-web"))["handle"]


def test_placed_certificate_files_spell_a_wildcard_out() -> None:
    assert cc.placed_files("a-web", "*.A.test") == (".kamal/proxy/kamalnb/tls/a-web/wildcard_.a.test.crt",
                                                    ".kamal/proxy/kamalnb/tls/a-web/wildcard_.a.test.key")
    assert cc.ca_root_file("a-web") == ".kamal/proxy/kamalnb/tls/a-web/ca.pem"
