"""A throwaway knotd serving every zone file in tests/dns/zones/ on 127.0.0.1.

Each test process (each xdist worker) starts its own server on a free port, with its config, run
directory and database under a temporary directory; the zone files are read in place and never written.

Zone `<name>` is served from `zones/<name>.zone`. A zone file whose first line is the marker below is
broken on purpose: knotd fails to load it and answers SERVFAIL for every name in it, which is how the
tests get a real SERVFAIL from a real server. Readiness means every other zone answers SOA with NOERROR.

knotd always binds UDP with SO_REUSEPORT, so two servers that happened to pick the same free port would
share it; they serve the same zones, so answers would not change.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import dns.exception
import dns.message
import dns.query
import dns.rcode

ZONES_DIR = Path(__file__).resolve().parent / "zones"
EXPECT_LOAD_FAILURE = "; dmarcwatch-test: expect-load-failure"
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def find_knotd() -> str | None:
    """knotd lives in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which("knotd")
    if found:
        return found
    for directory in _SBIN_DIRS:
        candidate = Path(directory) / "knotd"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (knotd listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port for knotd on 127.0.0.1")


class KnotServer:
    def __init__(self, workdir: Path, zones_dir: Path = ZONES_DIR) -> None:
        self.workdir = workdir
        self.zones_dir = zones_dir
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        files = sorted(zones_dir.glob("*.zone"))
        self.zones = [path.name.removesuffix(".zone") for path in files]
        self.broken_zones = {
            path.name.removesuffix(".zone")
            for path in files
            if path.read_text(encoding="utf-8").startswith(EXPECT_LOAD_FAILURE)
        }

    @property
    def log_path(self) -> Path:
        return self.workdir / "knotd.log"

    def _write_config(self) -> Path:
        for sub in ("run", "db"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        zones = "\n".join(f"  - domain: {zone}" for zone in self.zones)
        config = f"""\
server:
    rundir: "{self.workdir / "run"}"
    listen: 127.0.0.1@{self.port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{self.workdir / "db"}"
log:
  - target: stderr
    any: notice
template:
  - id: default
    storage: "{self.zones_dir}"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
{zones}
"""
        path = self.workdir / "knot.conf"
        path.write_text(config, encoding="utf-8")
        return path

    def start(self, timeout: float = 10.0) -> None:
        knotd = find_knotd()
        if knotd is None:
            raise RuntimeError("knotd is not installed (Debian package `knot`)")
        last_error = ""
        for _attempt in range(3):  # a port can be taken between choosing and binding it
            self.port = free_port()
            config = self._write_config()
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [knotd, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
                )
            try:
                self._wait_ready(timeout)
                return
            except RuntimeError as error:
                last_error = str(error)
                self.stop()
        raise RuntimeError(f"knotd did not start: {last_error}\n{self.log_path.read_text(errors='replace')}")

    def _soa_rcode(self, zone: str) -> int | None:
        query = dns.message.make_query(f"{zone}.", "SOA")
        try:
            response = dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.2)
        except (dns.exception.Timeout, OSError):
            return None
        return response.rcode()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = [zone for zone in self.zones if zone not in self.broken_zones]
        while waiting:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"knotd exited with status {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"zones not loaded after {timeout} s: {', '.join(waiting)}")
            waiting = [zone for zone in waiting if self._soa_rcode(zone) != dns.rcode.NOERROR]
            if waiting:
                time.sleep(0.02)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> KnotServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
