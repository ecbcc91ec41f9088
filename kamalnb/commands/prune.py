"""Prune: old stopped containers beyond `retain_containers`, dangling and unused tagged images."""

from __future__ import annotations

from typing import Any

from kamalnb.commands import engine
from kamalnb.commands.base import Command, command, docker, pipe
from kamalnb.commands.engine import EngineRequest


class Prune:
    def __init__(self, config: Any) -> None:
        self.config = config

    @property
    def service_filter(self) -> tuple[str, str]:
        return ("--filter", f"label=service={self.config.service}")

    def dangling_images(self) -> Command:
        return docker("image", "prune", "--force", *self.service_filter)

    def tagged_images(self) -> Command:
        """Remove the service's tagged images no container uses, except `latest[-dest]` and `<none>`."""
        return pipe(
            docker("image", "ls", *self.service_filter, "--format", "'{{.ID}} {{.Repository}}:{{.Tag}}'"),
            command("grep", f'-v -w "{self._active_image_list()}"'),
            "while read image tag; do docker rmi $tag; done",
        )

    def app_containers(self, retain: int) -> Command:
        """Remove stopped containers of the service, newest `retain` kept (per host, all roles)."""
        return pipe(
            docker("ps", "-q", "-a", *self.service_filter, *self._stopped_filters()),
            f"tail -n +{retain + 1}",
            "while read container_id; do docker rm $container_id; done",
        )

    # The same three through the engine's API.

    def engine_dangling_images(self) -> EngineRequest:
        return engine.prune_images([self.service_filter[1]], self.dangling_images())

    def engine_tagged_images(self) -> EngineRequest:
        latest = self.config.latest_image
        return engine.remove_unused_tags([self.service_filter[1]], lambda tag: tag == latest, self.tagged_images())

    def engine_app_containers(self, retain: int) -> EngineRequest:
        stopped = [self.service_filter[1], *(word for word in self._stopped_filters() if word != "--filter")]
        return engine.prune_containers(stopped, retain, self.app_containers(retain))

    @staticmethod
    def _stopped_filters() -> tuple[str, ...]:
        return tuple(word for status in ("created", "exited", "dead") for word in ("--filter", f"status={status}"))

    def _active_image_list(self) -> str:
        # `latest` and `<none>` are kept: the latter are dangling images still in use by a container.
        in_use = (
            "$(docker container ls -a --format '{{.Image}}\\|' "
            f"--filter label=service={self.config.service} | tr -d '\\n')"
        )
        return f"{in_use}{self.config.latest_image}\\|{self.config.repository}:<none>"
