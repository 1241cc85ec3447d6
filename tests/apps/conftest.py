"""The portal served for real: uvicorn on a free 127.0.0.1 port in a thread, a fresh warehouse and inbox, and three
accounts (two commune clerks and a province user)."""

from __future__ import annotations

import contextlib
import contextvars
import csv
import datetime as dt
import io
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

AS_OF = dt.date(2026, 11, 20)
UNIT, OTHER_UNIT = "XA_CHILANG", "PHUONG_TAMTHANH"
DOSSIER = ["unit_code", "period", "received_total", "received_online", "resolved_total", "resolved_on_time"]


def dossier_csv(unit: str, period: str = "2026-10", *, errors: bool = False) -> bytes:
    """One month's dossier report; with `errors`, two bad cells: online dossiers above the total (row 2) and a
    number written as words (row 3)."""
    rows = [[unit, period, "120", "150" if errors else "100", "110", "100"]]
    if errors:
        rows.append([unit, "2026-09", "mười", "80", "90", "85"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DOSSIER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


@dataclass
class Portal:
    url: str
    settings: object
    engine: object
    passwords: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, who: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)

    @contextlib.contextmanager
    def signed_in(self, who: str) -> Iterator[httpx.Client]:
        """A browser-like client signed in through the sign-in form."""
        with httpx.Client(base_url=self.url, timeout=120) as client:
            page = client.get("/login")
            answer = client.post("/login", data={"email": who, "password": self.passwords[who],
                                                 "csrf": csrf_of(page.text)})
            assert answer.status_code == 303, answer.text
            yield client


def csrf_of(html: str) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(app):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info",
                                           lifespan="off"))
    context = contextvars.copy_context()  # the Prefect test harness's settings reach the server's threads
    thread = threading.Thread(target=context.run, args=(server.run,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


CLERK, CLERK2, PROVINCE = "clerk@chilang.example", "clerk@tamthanh.example", "province@example.gov"


@pytest.fixture
def portal(env, engine, request):
    """The portal on a real server; accounts CLERK (UNIT), CLERK2 (OTHER_UNIT) and PROVINCE, each with a token."""
    from apps.portal import PortalConfig, create_app
    from apps.portal.accounts import SignInThrottle, add_account, new_token
    from apps.portal.intake import UploadLimits
    from chitieu.config import load_settings

    marker = request.node.get_closest_marker("portal_config")
    options = {"as_of": AS_OF, "throttle": SignInThrottle(delay_seconds=0.05, max_delay_seconds=0.2),
               "limits": UploadLimits(), **(marker.kwargs if marker else {})}
    config = PortalConfig(**options)
    settings = load_settings()
    portal = Portal("", settings, engine)
    for email, role, unit in ((CLERK, "unit", UNIT), (CLERK2, "unit", OTHER_UNIT), (PROVINCE, "province", None)):
        portal.passwords[email] = add_account(engine, email, role, unit)
        portal.tokens[email] = new_token(engine, email)
    server, thread, portal.url = _serve(create_app(config, settings))
    try:
        yield portal
    finally:
        server.should_exit = True
        thread.join(30)
