"""A fake RDAP service on 127.0.0.1 over HTTPS (a trustme CA and certificate), and RDAP documents.

The server answers each path from `replies` (status, headers, body, or a hang); everything asked is in
`asked`. The CA's PEM file is what the tests give whoisit's client (`DMARCWATCH_RDAP_CA_BUNDLE`), and
`bootstrap_document` names the server for the fixture TLDs: `.test` over https, `.example` over http only
(refused), `.invalid` not at all.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (a hung server).
    hang: float = 0.0
    raw: bytes | None = None


class FakeRdap:
    def __init__(self, ca_path: Path) -> None:
        self.ca_path = ca_path
        self.replies: dict[str, Reply] = {}
        self.asked: list[str] = []
        self.released = threading.Event()
        self.port = 0

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def count(self, path: str) -> int:
        return sum(1 for asked in self.asked if asked == path)

    def bootstrap_document(self) -> dict[str, Any]:
        return {
            "description": "test RDAP bootstrap",
            "version": "1.0",
            "services": [
                [["test"], [self.url("/registry/")]],
                [["example"], [f"http://127.0.0.1:{self.port}/registry/"]],
            ],
        }


def _handler(fake: FakeRdap) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.asked.append(self.path)
            reply = fake.replies.get(self.path, Reply(404, {"errorCode": 404, "title": "Not Found"}))
            if reply.hang:
                fake.released.wait(reply.hang)
            body = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/rdap+json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the client gave up (the hung-server test)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def serve(tmp_path: Path) -> Iterator[FakeRdap]:
    """Run the server until the generator is closed (a fixture's body)."""
    ca = trustme.CA()
    ca_path = tmp_path / "rdap-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    fake = FakeRdap(ca_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.released.set()
        server.shutdown()
        server.server_close()


def vcard(*fields: list[Any]) -> list[Any]:
    return ["vcard", [["version", {}, "text", "4.0"], *fields]]


def registrar_entity() -> dict[str, Any]:
    """The registrar with its abuse contact, as registries and registrars both give it."""
    return {
        "objectClassName": "entity",
        "handle": "9999",
        "roles": ["registrar"],
        "publicIds": [{"type": "IANA Registrar ID", "identifier": "9999"}],
        "vcardArray": vcard(["fn", {}, "text", "Example Registrar, Inc."]),
        "entities": [
            {
                "objectClassName": "entity",
                "roles": ["abuse"],
                "vcardArray": vcard(
                    ["fn", {}, "text", "Abuse desk"],
                    ["tel", {"type": "voice"}, "uri", "tel:+1.5555550100"],
                    ["email", {}, "text", "abuse@registrar.test"],
                ),
            }
        ],
    }


def registry_domain(
    name: str, registrar_link: str | None, *, expiry: str = "2031-03-01T00:00:00Z"
) -> dict[str, Any]:
    """A registry's (thin) answer: dates, statuses, name servers, the registrar and its link."""
    document: dict[str, Any] = {
        "objectClassName": "domain",
        "handle": f"{name.upper()}-REG",
        "ldhName": name.upper(),
        "port43": "whois.nic.test",
        "status": ["client transfer prohibited", "client delete prohibited"],
        "events": [
            {"eventAction": "registration", "eventDate": "2001-05-04T10:00:00Z"},
            {"eventAction": "expiration", "eventDate": expiry},
            {"eventAction": "last changed", "eventDate": "2024-02-01T08:30:00Z"},
        ],
        "nameservers": [
            {"objectClassName": "nameserver", "ldhName": "NS2.HOSTER.TEST"},
            {"objectClassName": "nameserver", "ldhName": "NS1.HOSTER.TEST"},
        ],
        "secureDNS": {"delegationSigned": True},
        "entities": [registrar_entity()],
    }
    if registrar_link:
        document["links"] = [{"rel": "related", "href": registrar_link, "type": "application/rdap+json"}]
    return document


def registrar_domain(name: str, *, org: str, redacted: bool) -> dict[str, Any]:
    """A registrar's (thick) answer: the registrant, optionally with RFC 9537 redactions."""
    document: dict[str, Any] = {
        "objectClassName": "domain",
        "handle": f"{name.upper()}-RAR",
        "ldhName": name.upper(),
        "entities": [
            registrar_entity(),
            {
                "objectClassName": "entity",
                "handle": "REGISTRANT-1",
                "roles": ["registrant"],
                "vcardArray": vcard(
                    ["fn", {}, "text", "" if redacted else "Jane Owner"],
                    ["org", {}, "text", org],
                    ["adr", {}, "text", ["", "", "", "", "Ontario", "", "CA"]],
                    ["email", {}, "text", "owner@corp.test"],
                ),
            },
        ],
    }
    if redacted:
        document["redacted"] = [
            {"name": {"type": "Registrant Name"}, "method": "emptyValue"},
            {"name": {"type": "Registrant Phone"}, "method": "removal"},
        ]
    return document
