"""Asset bridging (`asset_path`, proxied roles only), as Kamal does it.

Before any host boots, every (host, role) copies the new version's `asset_path` out of its
image and fills the new version's volume with those assets and the running version's;
the running version's volume gains the new assets too. So whichever version serves a page,
on whichever host, its fingerprinted assets answer. Preparing every host first matters when
hosts boot one after another: a page of the new version served by one host can ask for its
assets from one that still runs the old version. After a host stops its old container, what
only older versions needed goes (`clean_up`): the new volume still holds the old version's
assets until the next deploy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kamalnb import facts
from kamalnb.commands import App as AppCommands
from kamalnb.errors import HostError
from kamalnb.events import Phase
from kamalnb.steps.context import StepContext

if TYPE_CHECKING:
    from kamalnb.config import Role
    from kamalnb.results import HostOutcome

# What `docker container cp` answers when the path is not in the image.
_MISSING = "Could not find the file"


def prepare(context: StepContext) -> None:
    """Extract and merge the assets of every selected (host, role) with `asset_path`, or
    fail naming each host, role and path before any container starts."""
    pairs = [(host, role) for host, role in context.config.specifics.role_hosts if role.assets]

    def prepare_on(pair: tuple[str, Role]) -> None:
        host, role = pair
        with context.phase(host, Phase.START, role.name):
            app = AppCommands(context.config, role, host)
            extracted = context.executor.run(host, app.extract_assets(), check=False)
            if not extracted.ok:
                context.executor.run(host, app.remove_asset_container(), check=False)
                raise HostError(host, _extraction_failed(context, role, extracted.stderr or extracted.stdout))
            old_version = context.executor.read(host, facts.running_version(app))
            context.executor.run(host, app.sync_asset_volumes(old_version))

    context.parallel(pairs, prepare_on).check("Preparing assets")


def clean_up(context: StepContext, app: AppCommands, host: str, outcome: HostOutcome) -> None:
    """Once the old container is stopped: remove every other version's extracted assets and volume."""
    if app.role.assets:
        outcome.record(context.executor.run(host, app.clean_up_assets()))


def _extraction_failed(context: StepContext, role: Role, output: str) -> str:
    path, image = role.asset_path, context.config.absolute_image
    tail = "\n    ".join(output.strip().splitlines()[-5:])
    if _MISSING in output:
        return (f"role {role.name}: the image {image} has no {path} (asset_path) to copy the assets from. "
                f"Build the assets into {path} in the image, or set asset_path to where the image keeps them; "
                f"no new container was started on any host.\n    {tail}")
    return (f"role {role.name}: could not copy asset_path {path} out of the image {image}; "
            f"no new container was started on any host:\n    {tail}")
