"""A script interrupted by the Ctrl-C tests (tests/sync/test_ctrl_c.py): a blocking call, a
start, or a managed session's block, each announced on stdout just before it blocks.

    python -m tests.sync.interrupted call|start|managed

Credentials and ids come from the environment (the emulator's ``environment()``, plus
AGENTCLOUD_BASE_URL, DEPLOYMENT_ID and SESSION_ID).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from agentcloud.sync import VideoSDK


class Announce:
    """A client hook: says on stdout which request just went out."""

    def on_request(self, info: Any) -> None:
        print(f"sending {info.operation}", flush=True)


def main(mode: str) -> None:
    env = os.environ
    with VideoSDK(base_url=env["AGENTCLOUD_BASE_URL"], hooks=[Announce()]) as vs:
        if mode == "call":
            vs.sessions.get(env["SESSION_ID"])
        elif mode == "start":
            vs.sessions.start(deployment_id=env["DEPLOYMENT_ID"], tag="v1.0")
        else:
            with vs.sessions.start(deployment_id=env["DEPLOYMENT_ID"], tag="v1.0") as session:
                print(f"inside {session.id}", flush=True)
                threading.Event().wait()  # the bot's work, until Ctrl-C
    print("not interrupted", flush=True)


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except KeyboardInterrupt:
        sys.exit(130)
