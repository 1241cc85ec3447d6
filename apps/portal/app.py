"""The units' portal and HTTP API (CONTRACT.md section 8): one FastAPI application, pages rendered on the server."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader

from apps.portal import accounts, review
from apps.portal.accounts import Account, SignInThrottle
from apps.portal.intake import Refused, UploadLimits, receive
from apps.portal.results import submission_answer
from apps.portal.wording import APPROVAL_TEXT, DONE_TEXT, FEED_TEXT, SUBMISSION_TEXT, TARGET_TEXT, number_vi
from chitieu.catalog import read_catalog, unit_of_measure_vi
from chitieu.config import FEEDS, MONTHLY_FEEDS, Settings, load_settings
from chitieu.local_time import in_local_time, today
from chitieu.warehouse import get_engine, read_sql

__all__ = ["PortalConfig", "create_app"]

SESSION_COOKIE = "chitieu_session"
LOGIN_COOKIE = "chitieu_login"  # the sign-in form's CSRF secret, before there is a session
HERE = Path(__file__).resolve().parent
_log = logging.getLogger("chitieu.portal")


@dataclass(frozen=True)
class PortalConfig:
    """How the portal behaves; the defaults are production's."""

    limits: UploadLimits = field(default_factory=UploadLimits)
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    as_of: dt.date | None = None      # evaluation date of submissions (default: today)
    secure_cookies: bool = False      # set behind a TLS reverse proxy (chitieu serve --secure-cookies)


class ApiError(Exception):
    """An API request refused: JSON {"error", "message_vi"} with the status."""

    def __init__(self, status: int, error: str, message_vi: str):
        super().__init__(error)
        self.status, self.error, self.message_vi = status, error, message_vi


class PageError(ApiError):
    """A page request refused: the error page in Vietnamese, with the status."""


class SignInNeeded(Exception):
    """A page asked for without a live session: go to the sign-in page."""


class _BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is answered 413 before the application reads it all
    (by its Content-Length, or by counting a body sent without one)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await _too_large(send)
        seen, started, answered = 0, False, False

        async def counting_receive():
            # past the limit: answer 413 at once and tell the application the client went away (it stops reading;
            # whatever it answers then is dropped)
            nonlocal seen, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                if not started:
                    await _too_large(send)
                answered = True
                return {"type": "http.disconnect"}
            return message

        async def tracking_send(message):
            nonlocal started
            if answered:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, tracking_send)


async def _too_large(send) -> None:
    body = JSONResponse({"error": "too_large", "message_vi": "Tệp gửi lên vượt giới hạn dung lượng."},
                        status_code=413)
    await send({"type": "http.response.start", "status": 413, "headers": body.raw_headers})
    await send({"type": "http.response.body", "body": body.body})


def create_app(config: PortalConfig | None = None, settings: Settings | None = None) -> FastAPI:
    """The portal for the warehouse and inbox of `settings` (default: the environment's)."""
    config = config or PortalConfig()
    settings = settings or load_settings()
    app = FastAPI(title="chitieu portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    pages = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    pages.globals.update(FEED_TEXT=FEED_TEXT, SUBMISSION_TEXT=SUBMISSION_TEXT, TARGET_TEXT=TARGET_TEXT,
                         APPROVAL_TEXT=APPROVAL_TEXT, DONE_TEXT=DONE_TEXT, REVIEW_ROLES=review.REVIEW_ROLES,
                         number_vi=number_vi)
    # the warehouse's timestamps (timestamptz, read in the session's zone) as a clerk in Vietnam reads a clock
    pages.filters["vn_time"] = lambda moment: in_local_time(moment).strftime("%d/%m/%Y %H:%M")

    def engine() -> sa.Engine:
        return get_engine(settings)

    def as_of() -> dt.date:
        return config.as_of or today()

    def client(request: Request) -> str:
        return request.client.host if request.client else ""

    # --- who is calling ------------------------------------------------------------------------------

    def api_account(request: Request) -> Account:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        account = accounts.token_account(engine(), token.strip()) if scheme.lower() == "bearer" and token else None
        if account is None:
            accounts.audit(engine(), "refused", http_status=401, client=client(request),
                           detail=f"{request.method} {request.url.path}: no valid token")
            raise ApiError(401, "unauthorized", "Cần mã truy cập (API token) hợp lệ.")
        return account

    def page_account(request: Request) -> tuple[Account, str]:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        account = accounts.session_account(engine(), session_id)
        if account is None:
            raise SignInNeeded
        return account, session_id

    def check_csrf(request: Request, secret: str, given: str | None, account: Account | None = None) -> None:
        if not accounts.csrf_ok(secret, given):
            accounts.audit(engine(), "refused", account=account, http_status=403, client=client(request),
                           detail=f"{request.method} {request.url.path}: CSRF token missing or wrong")
            raise PageError(403, "csrf", "Phiên biểu mẫu không hợp lệ hoặc đã hết hạn; hãy tải lại trang và thử lại.")

    def units_for(request: Request, account: Account, unit: str | None, *, page: bool) -> list[str] | None:
        """The units the caller asks about: its own (role unit), or `unit`/every unit (province, admin)."""
        if unit and not account.may_see(unit):
            accounts.audit(engine(), "refused", account=account, unit_code=unit, http_status=403,
                           client=client(request), detail=f"{request.method} {request.url.path}: another unit")
            error = PageError if page else ApiError
            raise error(403, "forbidden", "Tài khoản chỉ xem và gửi số liệu của đơn vị mình.")
        if account.role == "unit":
            return [account.unit_code]
        return [unit] if unit else None

    def owned_submission(request: Request, account: Account, submission_id: int, *, page: bool) -> dict:
        error = PageError if page else ApiError
        answer = submission_answer(engine(), submission_id)
        if answer is None:
            raise error(404, "not_found", "Không tìm thấy lần gửi này.")
        if not account.may_see(answer["unit_code"]):
            accounts.audit(engine(), "refused", account=account, submission_id=submission_id, http_status=403,
                           client=client(request), detail=f"{request.method} {request.url.path}: another unit")
            raise error(403, "forbidden", "Lần gửi này thuộc đơn vị khác.")
        return answer

    def refuse(request: Request, account: Account, message_vi: str, **where) -> None:
        accounts.audit(engine(), "refused", account=account, http_status=403, client=client(request),
                       detail=f"{request.method} {request.url.path}: role {account.role}", **where)
        raise PageError(403, "forbidden", message_vi)

    def reviewer(request: Request, account: Account) -> None:
        if account.role not in review.REVIEW_ROLES:
            refuse(request, account, "Chỉ tài khoản cấp tỉnh được xem hàng chờ duyệt và duyệt số liệu.")

    def take(request: Request, account: Account, unit: str | None, feed: str, upload: UploadFile | None,
             dry_run: bool, page: bool) -> dict:
        error = PageError if page else ApiError
        target = unit or account.unit_code
        if not target:
            raise error(422, "unit_required", "Tài khoản cấp tỉnh cần chọn đơn vị gửi số liệu.")
        units_for(request, account, target, page=page)
        if upload is None or not upload.filename:
            raise error(422, "no_file", "Chưa chọn tệp để gửi.")
        data = upload.file.read(config.limits.max_bytes + 1)
        try:
            answer = receive(settings, target, feed, upload.filename, data, dry_run=dry_run, as_of=as_of(),
                             limits=config.limits)
        except Refused as exc:
            accounts.audit(engine(), "refused", account=account, unit_code=target, feed=feed,
                           http_status=exc.status, client=client(request), detail=exc.error)
            raise error(exc.status, exc.error, exc.message_vi) from None
        accounts.audit(engine(), "dry_run" if dry_run else "upload", account=account, unit_code=target, feed=feed,
                       submission_id=answer["submission_id"], http_status=200, client=client(request),
                       detail=f"{answer['status']} {answer['file_name']}")
        return answer

    # --- errors ------------------------------------------------------------------------------------------

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError):
        return HTMLResponse(pages.get_template("error.html").render(status=exc.status, message=exc.message_vi,
                                                                    account=None), status_code=exc.status)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.error, "message_vi": exc.message_vi}, status_code=exc.status)

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded):
        return RedirectResponse("/login", status_code=303)

    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        """An unknown path or method, in the contract's error shape (API) or on the Vietnamese error page."""
        error, message_vi = _HTTP_ERRORS.get(exc.status_code, ("http_error", "Yêu cầu không thực hiện được."))
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": error, "message_vi": message_vi}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return HTMLResponse(pages.get_template("error.html").render(status=exc.status_code, message=message_vi,
                                                                    account=None), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
        return JSONResponse({"error": "invalid_request", "message_vi": f"Yêu cầu thiếu hoặc sai trường: {fields}."},
                            status_code=422)

    def render(name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(pages.get_template(name).render(**context), status_code=status)

    # --- health ------------------------------------------------------------------------------------------

    @app.get("/healthz")
    def healthz():
        try:
            with engine().connect() as conn:
                conn.execute(sa.text("select 1"))
        except Exception:  # any failure to reach the warehouse
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return {"status": "ok"}

    # --- API ---------------------------------------------------------------------------------------------

    @app.post("/api/v1/submissions")
    def api_submit(request: Request, feed: str = Query(""), dry_run: bool = Query(False),
                   unit: str | None = Query(None), file: UploadFile | None = File(None)):
        account = api_account(request)
        return take(request, account, unit, feed, file, dry_run, page=False)

    @app.get("/api/v1/submissions")
    def api_list(request: Request, feed: str | None = None, period: str | None = None, unit: str | None = None,
                 limit: int = Query(500, ge=1, le=5000)):
        account = api_account(request)
        rows = _submissions(engine(), units_for(request, account, unit, page=False), feed, period, limit)
        return {"submissions": [_jsonable(r) for r in rows]}

    @app.get("/api/v1/submissions/{submission_id}")
    def api_one(request: Request, submission_id: int):
        return owned_submission(request, api_account(request), submission_id, page=False)

    @app.get("/api/v1/templates/{name}")
    def api_template(request: Request, name: str, unit: str | None = None):
        account = api_account(request)
        feed, _, ext = name.rpartition(".")
        if ext != "xlsx" or feed not in FEEDS:
            raise ApiError(422, "unknown_feed", f"Không có mẫu «{name}»; các loại báo cáo: {', '.join(FEEDS)}.")
        from chitieu.forms import render_form

        target = unit or account.unit_code
        if target:
            units_for(request, account, target, page=False)
        body = render_form(read_catalog(settings.catalog_dir), feed, unit_code=target, fmt="xlsx")
        return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{feed}.xlsx"'})

    # --- sign in and out ---------------------------------------------------------------------------------

    def cookie(response: Response, key: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(key, value, max_age=max_age, httponly=True, samesite="lax", path="/",
                            secure=config.secure_cookies)

    @app.get("/login")
    def login_page(request: Request):
        secret = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
        response = render("login.html", account=None, csrf=accounts.csrf_for(secret), message=None)
        cookie(response, LOGIN_COOKIE, secret, max_age=3600)
        return response

    @app.post("/login")
    def login(request: Request, email: str = Form(""), password: str = Form(""), csrf: str = Form("")):
        secret = request.cookies.get(LOGIN_COOKIE, "")
        check_csrf(request, secret, csrf)
        email = email.strip()[:254]
        failures = config.throttle.failures(engine(), email)
        if failures >= config.throttle.refuse_after:
            accounts.audit(engine(), "sign_in_refused", email=email, http_status=429, client=client(request))
            return render("login.html", 429, account=None, csrf=accounts.csrf_for(secret),
                          message="Đăng nhập sai quá nhiều lần; hãy thử lại sau 15 phút.")
        time.sleep(config.throttle.delay(failures))
        account = accounts.verify_password(engine(), email, password)
        if account is None:
            accounts.audit(engine(), "sign_in_failed", email=email, http_status=401, client=client(request))
            return render("login.html", 401, account=None, csrf=accounts.csrf_for(secret),
                          message="Sai địa chỉ email hoặc mật khẩu.")
        accounts.audit(engine(), "sign_in", account=account, http_status=303, client=client(request))
        response = RedirectResponse("/", status_code=303)
        cookie(response, SESSION_COOKIE, accounts.start_session(engine(), account),
               max_age=accounts.SESSION_HOURS * 3600)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")):
        account, session_id = page_account(request)
        check_csrf(request, session_id, csrf, account)
        accounts.end_session(engine(), session_id)
        accounts.audit(engine(), "sign_out", account=account, http_status=303, client=client(request))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # --- pages -------------------------------------------------------------------------------------------

    def page(name: str, account: Account, session_id: str, **context) -> HTMLResponse:
        return render(name, account=account, csrf=accounts.csrf_for(session_id), feeds=FEEDS,
                      monthly_feeds=MONTHLY_FEEDS, units=_unit_names(engine()), **context)

    @app.get("/")
    def home(request: Request):
        account, session_id = page_account(request)
        units = units_for(request, account, None, page=True)
        return page("home.html", account, session_id, due=_due(engine(), units, as_of()),
                    recent=_submissions(engine(), units, None, None, 10), as_of=as_of())

    @app.get("/upload")
    def upload_page(request: Request):
        account, session_id = page_account(request)
        return page("upload.html", account, session_id, result=None)

    @app.post("/upload")
    def upload(request: Request, feed: str = Form(""), csrf: str = Form(""), dry_run: bool = Form(False),
               unit: str | None = Form(None), file: UploadFile | None = File(None)):
        account, session_id = page_account(request)
        check_csrf(request, session_id, csrf, account)
        result = take(request, account, unit or None, feed, file, dry_run, page=True)
        return page("upload.html", account, session_id, result=result, labels=_labels(result["feed"]))

    @app.get("/submissions")
    def submissions_page(request: Request, unit: str | None = None, feed: str | None = None,
                         period: str | None = None):
        account, session_id = page_account(request)
        units = units_for(request, account, unit or None, page=True)
        rows = _submissions(engine(), units, feed or None, period or None, 500)
        return page("submissions.html", account, session_id, rows=rows, unit=unit, feed=feed, period=period)

    @app.get("/submissions/{submission_id}")
    def submission_page(request: Request, submission_id: int):
        account, session_id = page_account(request)
        result = owned_submission(request, account, submission_id, page=True)
        versions = [r for r in _submissions(engine(), [result["unit_code"]], result["feed"], None, 500)
                    if set(r["periods"] or []) & set(result["periods"])]
        warnings = [] if result["status"] == "duplicate" else review.warnings_of(engine(), submission_id)
        return page("submission.html", account, session_id, result=result, versions=versions,
                    labels=_labels(result["feed"]), warnings=warnings, done=request.query_params.get("done"))

    @app.post("/submissions/{submission_id}/explain")
    def explain(request: Request, submission_id: int, expectation: str = Form(""), column: str = Form(""),
                explanation: str = Form(""), csrf: str = Form("")):
        account, session_id = page_account(request)
        result = owned_submission(request, account, submission_id, page=True)
        if account.role != "unit":  # the explanation is the unit's own word on its figures
            refuse(request, account, "Chỉ đơn vị gửi số liệu mới giải thích cảnh báo của mình.",
                   submission_id=submission_id)
        check_csrf(request, session_id, csrf, account)
        act(request, account, "explain", lambda: review.explain(
            engine(), submission_id, expectation, column or None, explanation, account.email),
            unit_code=result["unit_code"], feed=result["feed"], submission_id=submission_id)
        return RedirectResponse(f"/submissions/{submission_id}?done=explained#warnings", status_code=303)

    def act(request: Request, account: Account, event: str, action, **where) -> None:
        """Run a review action; audit it, or its refusal (then the error page)."""
        try:
            action()
        except review.Refused as exc:
            accounts.audit(engine(), "refused", account=account, http_status=exc.status, client=client(request),
                           detail=f"{request.method} {request.url.path}: {exc.error}", **where)
            raise PageError(exc.status, exc.error, exc.message_vi) from None
        accounts.audit(engine(), event, account=account, http_status=303, client=client(request), **where)

    def back_to_queue(unit: str, feed: str, done: str) -> RedirectResponse:
        query = urlencode({k: v for k, v in (("unit", unit), ("feed", feed), ("done", done)) if v})
        return RedirectResponse(f"/review?{query}", status_code=303)

    @app.get("/review")
    def review_page(request: Request, unit: str | None = None, feed: str | None = None,
                    period: str | None = None, done: str | None = None):
        account, session_id = page_account(request)
        reviewer(request, account)
        rows = review.queue(engine(), [unit] if unit else None, feed or None, period or None)
        return page("review.html", account, session_id, rows=rows, unit=unit, feed=feed, period=period, done=done,
                    limit=review.QUEUE_LIMIT)

    @app.post("/review/approve")
    def review_approve(request: Request, unit: str = Form(""), feed: str = Form(""), period: str = Form(""),
                       csrf: str = Form(""), filter_unit: str = Form(""), filter_feed: str = Form("")):
        account, session_id = page_account(request)
        reviewer(request, account)
        check_csrf(request, session_id, csrf, account)
        act(request, account, "approve", lambda: review.approve_period(engine(), unit, feed, period, account.email),
            unit_code=unit, feed=feed)
        return back_to_queue(filter_unit, filter_feed, "approved")

    @app.post("/review/reopen")
    def review_reopen(request: Request, unit: str = Form(""), feed: str = Form(""), period: str = Form(""),
                      reason: str = Form(""), csrf: str = Form(""), filter_unit: str = Form(""),
                      filter_feed: str = Form("")):
        account, session_id = page_account(request)
        reviewer(request, account)
        check_csrf(request, session_id, csrf, account)
        act(request, account, "reopen", lambda: review.reopen_period(engine(), unit, feed, period, account.email,
                                                                     reason), unit_code=unit, feed=feed)
        return back_to_queue(filter_unit, filter_feed, "reopened")

    @app.get("/due")
    def due_page(request: Request, unit: str | None = None):
        account, session_id = page_account(request)
        units = units_for(request, account, unit or None, page=True)
        return page("due.html", account, session_id, rows=_due(engine(), units, as_of()), unit=unit, as_of=as_of())

    @app.get("/targets")
    def targets_page(request: Request, unit: str | None = None):
        account, session_id = page_account(request)
        units = units_for(request, account, unit or None, page=True)
        with engine().connect() as conn:
            rows = conn.execute(sa.text(read_sql("portal/targets.sql")), {"units": units}).mappings().all()
        indicators = {i["indicator_code"]: i for i in read_catalog(settings.catalog_dir).indicators}
        rows = [{**r, "unit_of_measure": unit_of_measure_vi(indicators.get(r["metric_code"]), r["unit_of_measure"])}
                for r in rows]  # in Vietnamese, as the report writes it (the warehouse keeps the catalog's code)
        return page("targets.html", account, session_id, rows=rows, unit=unit)

    app.add_middleware(_BodyLimit, limit=config.limits.max_bytes + 256 * 1024)  # the form's own fields beside
    return app


_HTTP_ERRORS = {404: ("not_found", "Không tìm thấy địa chỉ này."),
                405: ("method_not_allowed", "Địa chỉ này không nhận phương thức yêu cầu đó.")}


def _submissions(engine: sa.Engine, units: list[str] | None, feed: str | None, period: str | None,
                 limit: int) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(read_sql("portal/submissions.sql")),
                                              {"units": units, "feed": feed, "period": period,
                                               "limit": limit}).mappings()]


def _due(engine: sa.Engine, units: list[str] | None, as_of: dt.date) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(read_sql("portal/due.sql")),
                                              {"units": units, "as_of": as_of}).mappings()]


def _unit_names(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("select unit_code, name_vi from core.unit"
                                         " where level <> 'province' and is_active order by unit_code")).all())


def _labels(feed: str) -> dict[str, str]:
    from chitieu.feeds import feed_spec

    spec = feed_spec(feed)
    return {c.name: c.label_vi for c in spec.columns}


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.datetime | dt.date) else v) for k, v in row.items()}
