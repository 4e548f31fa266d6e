"""A real mosquitto broker in a temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.servers.ports import free_port, wait_listening


@dataclass
class Mosquitto:
    port: int
    workdir: Path
    extra_config: str = ""
    listener_options: str = ""  # lines that belong to the listener (TLS, passwords)
    anonymous: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            ""
            # as root, mosquitto would drop to its own user, who cannot read the test's files
            + ("user root\n" if os.geteuid() == 0 else "")
            + "per_listener_settings true\n"
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if self.anonymous else 'false'}\n"
            + self.listener_options
            + "\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 0\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n" + self.extra_config
        )
        self.process = subprocess.Popen(
            [binary, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "mosquitto.log", "ab"),  # noqa: SIM115
        )
        wait_listening(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def start_mosquitto(
    workdir: Path, extra_config: str = "", listener_options: str = "", anonymous: bool = True
) -> Mosquitto:
    workdir.mkdir(parents=True, exist_ok=True)
    broker = Mosquitto(free_port(), workdir, extra_config, listener_options, anonymous)
    broker.start()
    return broker
