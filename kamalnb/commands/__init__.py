"""Pure command builders: configuration + arguments -> `Command`s identical to Kamal's.

Nothing here touches the network, the file system or the clock; executors run the result.
"""

from kamalnb.commands.accessory import Accessory
from kamalnb.commands.app import App, container_hostname
from kamalnb.commands.auditor import Auditor
from kamalnb.commands.base import Command, Sensitive, Upload
from kamalnb.commands.builder import Clone, builder_for
from kamalnb.commands.docker import Docker
from kamalnb.commands.hook import Hook
from kamalnb.commands.lock import Lock
from kamalnb.commands.prune import Prune
from kamalnb.commands.registry import Registry
from kamalnb.commands.server import Server
from kamalnb.commands.tags import Tags

__all__ = [
    "Accessory", "App", "Auditor", "Clone", "Command", "Docker", "Hook", "Lock", "Prune", "Registry",
    "Sensitive", "Server", "Tags", "Upload", "builder_for", "container_hostname",
]
