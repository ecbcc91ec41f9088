from kamalnb.proxy import Route
from kamalnb.proxy import caddy_config as cc


def test_the_proxy_container_command() -> None:
    assert str(cc.run_command("10.231.0.1:5000/kamalnb/caddy:2.6.2")) == (
        "docker run --name kamalnb-proxy --network kamal --detach --restart unless-stopped "
        "--publish 80:80 --publish 443:443 --publish 127.0.0.1:2019:2019 "
        "--volume kamalnb-proxy-config:/config --volume kamalnb-proxy-data:/data "
        '--volume "$HOME/.kamal/proxy/kamalnb:/etc/kamalnb:ro" --label kamalnb.proxy=caddy '
        "--sysctl net.ipv4.tcp_migrate_req=1 "
        "10.231.0.1:5000/kamalnb/caddy:2.6.2 run --config /etc/kamalnb/caddy.json --resume"
    )
    assert str(cc.run_command("caddy:2", 8080, 8443)).count("--publish 8080:80 --publish 8443:443") == 1


def test_base_config_has_the_admin_api_and_no_automatic_https() -> None:
    config = cc.base_config()
    assert config["admin"] == {"listen": "0.0.0.0:2019"}
    assert config["apps"]["http"]["servers"]["kamalnb"] == {
        "listen": [":80"], "automatic_https": {"disable": True}, "routes": []}


def test_routes_by_id_with_and_without_host_matchers() -> None:
    assert cc.route_config(Route("sample-web"), "sample-web-abc:80") == {
        "@id": "sample-web",
        "handle": [{
            "handler": "reverse_proxy",
            "load_balancing": {"selection_policy": {"policy": "first"}},
            "upstreams": [{"dial": "sample-web-abc:80"}],
        }],
        "terminal": True,
    }
    draining = cc.route_config(Route("sample-web"), "sample-web-new:80", draining="sample-web-old:80")
    assert cc.route_upstreams(draining) == ["sample-web-new:80", "sample-web-old:80"]
    assert cc.route_upstreams(cc.route_config(Route("x"), "a:80", draining="a:80")) == ["a:80"]
    routed = cc.route_config(Route("blog-web-staging", hosts=("a.test", "b.test"), path_prefix="/app/"), "c:3000")
    assert routed["match"] == [{"host": ["a.test", "b.test"], "path": ["/app/*", "/app"]}]
    assert cc.route_upstreams(routed) == ["c:3000"]
    assert cc.route_hosts(routed) == ("a.test", "b.test")


def test_docker_probes() -> None:
    assert str(cc.container_state()) == "docker ps --all --filter 'name=^kamalnb-proxy$' --format '{{.State}}'"
    assert str(cc.kamal_proxy_running()) == "docker ps --filter 'name=^kamal-proxy$' --format '{{.Names}}'"
    assert str(cc.ensure_network()) == (
        "docker network inspect kamal >/dev/null 2>&1 || docker network create kamal")
