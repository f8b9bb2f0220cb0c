"""The webhook process `tidemark serve` runs beside the server (`webhook_delivery: child`).

Dispatching and sending webhooks costs CPU per delivery; in the server's own
interpreter it would take turns with the requests. In a process of its own it
uses the other core, at a lower scheduling priority (`webhook_nice`), and it
writes only to its own database (`webhooks.sqlite` on SQLite) and the delivery
log. The server restarts it if it dies; it exits if the server dies.
"""

import sys

from infra.wiring.child_process import SupervisedChild


def webhook_process(config_file: str | None) -> SupervisedChild:
    command = [sys.executable, "-m", "infra.wiring.cli"]
    if config_file:
        command += ["--config", config_file]
    command += ["serve", "--role", "webhooks"]
    return SupervisedChild("webhook", command, {"TIDEMARK_ROLE": "webhooks"})
