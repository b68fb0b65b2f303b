"""``dashboard_router(worker)``: the store dashboard and the phone pairing endpoint (FastAPI).

    GET  /dashboard[?session=ID]       the page: live carts, and one session's detail
    GET  /dashboard/fragment[?session] the page's live part alone
    GET  /dashboard/events[?session]   server-sent events: ``view`` {html} whenever it changes
    POST /dashboard/receipts/{receipt}/lines/{n}/refund      amount ("12,50", empty: all), reason
    POST /dashboard/receipts/{receipt}/lines/{n}/correction  quantity, grams, reason
    GET  /pair?cart=&nonce=&t=&sig=    the page the QR code opens on the shopper's phone
    POST /pair                         JSON {cart_id, nonce, issued_at, sig, customer_token}
    POST /pair/form                    the phone page's form

The dashboard routes take the app's staff guard (``staff``: FastAPI dependencies, the bearer
token of ``host.api``); the phone's ``/pair`` routes and the static files stay public.

Staff forms are urlencoded (no multipart dependency) and answer 204 to the page's script or a
303 back to the page for a plain form; a refused action answers 409/422 with ``detail``.
Refunds and corrections are ``host.checkout.refund_line`` / ``correct_line`` through the
ledger gateway: new balanced ledger transactions, never an edit of the receipt.

The live stream polls ``queries.fingerprint`` every ``poll_s`` in a worker thread and renders
only when it moved.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Query, Request, params, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from host import checkout
from host.dashboard import queries
from host.dashboard.errors import BadForm, PairingRefused
from host.dashboard.pairing import PairingSettings, pair
from host.demo import kr
from host.errors import Conflict, HostError, LedgerError, NotFound
from host.params import LineNo, UuidPath
from host.payments import LedgerGateway
from host.worker import HostWorker
from smartcart.contract import messages as m

T = TypeVar("T")

_STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_KEEPALIVE_S = 10.0
_MAX_FORM_BYTES = 4096

_STATUS: dict[type[HostError], int] = {
    PairingRefused: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    BadForm: status.HTTP_422_UNPROCESSABLE_CONTENT,
    LedgerError: status.HTTP_422_UNPROCESSABLE_CONTENT,
}

SessionQuery = Annotated[str | None, Query(pattern=_UUID)]
_ERROR = {"description": "", "content": {"application/json": {}}}
_STAFF_RESPONSES: dict[int | str, dict[str, object]] = {
    204: {"description": "Done (the page's script asked for JSON)"},
    303: {"description": "Done or refused: back to the page (a plain form)"},
    404: {**_ERROR, "description": "No such receipt or line"},
    409: {**_ERROR, "description": "Refused: more than is left, nothing to correct"},
    422: {**_ERROR, "description": "A form value that cannot be read"},
}


class PairRequest(BaseModel):
    """The phone's request: the QR code's fields and the shopper's secret pairing token."""

    model_config = ConfigDict(extra="forbid")

    cart_id: str
    nonce: str
    issued_at: datetime | int = Field(description="ISO 8601, or Unix seconds as in the QR URL.")
    sig: str
    customer_token: str = Field(
        min_length=16,
        max_length=128,
        description="The customer's pairing token (issued once by staff), not the customer id.",
    )


class PairResponse(BaseModel):
    session_id: str
    cart_id: str
    customer_name: str


def parse_kr(text: str) -> int | None:
    """Staff's amount: "12,50", "12.50", "12" or "12,50 kr" -> 1250; empty -> None (all)."""
    cleaned = text.strip().removesuffix("kr").strip().replace(" ", "").replace(",", ".")
    if not cleaned:
        return None
    major, _, minor = cleaned.partition(".")
    if not major.isdigit() or not (minor == "" or (minor.isdigit() and len(minor) <= 2)):
        raise BadForm(f"not an amount in kronor: {text!r} (write it like 12,50)")
    if len(major) > 9:  # far above any receipt; keeps the sum inside 64-bit columns
        raise BadForm(f"amount too large: {text!r}")
    return int(major) * 100 + int(minor.ljust(2, "0") or 0)


def status_of(e: HostError) -> int:
    return next((code for kind, code in _STATUS.items() if isinstance(e, kind)), 400)


def _int_field(form: dict[str, str], name: str, most: int) -> int | None:
    value = form.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > most:
        raise BadForm(f"{name} must be a whole number from 0 to {most}, got {value!r}")
    return int(value)


def _hhmmss(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(UTC).strftime("%H:%M:%S")


def dashboard_router(
    worker: HostWorker,
    pairing: PairingSettings | None = None,
    *,
    poll_s: float = 0.5,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    staff: Sequence[params.Depends] = (),
) -> APIRouter:
    router = APIRouter()
    staff_router = APIRouter(
        dependencies=list(staff),
        responses={401: {"description": "No staff bearer token, or not one the host knows"}}
        if staff
        else None,
    )
    pairing_settings = pairing or PairingSettings()
    env = Environment(
        loader=PackageLoader("host.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["kr"] = lambda minor: kr(int(minor), worker.settings.currency)
    env.filters["hhmmss"] = _hhmmss

    def tx(fn: Callable[[Session], T]) -> T:
        with worker.transaction() as s:
            return fn(s)

    def render_view(session_id: str | None) -> str:
        def read(s: Session) -> str:
            detail = None
            if session_id is not None:
                detail = queries.session_detail(s, worker.catalog, session_id)
            carts = queries.carts(s, worker.catalog)
            return env.get_template("view.html").render(carts=carts, detail=detail)

        return tx(read)

    def error_response(e: HostError) -> JSONResponse:
        return JSONResponse({"detail": str(e), "error": type(e).__name__}, status_of(e))

    async def read_form(request: Request) -> dict[str, str]:
        body = (await request.body())[:_MAX_FORM_BYTES].decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def staff_answer(request: Request, form: dict[str, str], error: HostError | None) -> Response:
        wants_json = "application/json" in request.headers.get("accept", "")
        if wants_json:
            return Response(status_code=204) if error is None else error_response(error)
        target = "/dashboard"
        session_id = form.get("session", "")
        query = [f"session={quote(session_id)}"] if session_id else []
        if error is not None:
            query.append(f"error={quote(str(error))}")
        return RedirectResponse(
            target + ("?" + "&".join(query) if query else ""), status.HTTP_303_SEE_OTHER
        )

    # ---- pages ----

    @staff_router.get("/dashboard", response_class=HTMLResponse, tags=["dashboard"])
    def page(
        session: SessionQuery = None,
        error: Annotated[str | None, Query(max_length=500)] = None,
    ) -> HTMLResponse:
        try:
            html = render_view(session)
        except NotFound as e:
            html, error, session = render_view(None), str(e), None
        page = env.get_template("page.html")
        return HTMLResponse(page.render(view_html=html, selected=session, error=error))

    @staff_router.get(
        "/dashboard/fragment",
        response_class=HTMLResponse,
        tags=["dashboard"],
        responses={404: {"description": "No such session", "content": {"text/html": {}}}},
    )
    def fragment(session: SessionQuery = None) -> HTMLResponse:
        try:
            return HTMLResponse(render_view(session))
        except NotFound as e:
            return HTMLResponse(str(e), status_code=404)

    # Not in the OpenAPI document: an endless stream is no operation for API clients or fuzzers.
    @staff_router.get("/dashboard/events", include_in_schema=False)
    async def events(request: Request, session: SessionQuery = None) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            seen: tuple[object, ...] | None = None
            quiet_s = 0.0
            while not await request.is_disconnected():
                fp = await run_in_threadpool(tx, queries.fingerprint)
                if fp != seen:
                    seen, quiet_s = fp, 0.0
                    html = await run_in_threadpool(render_view, session)
                    yield f"event: view\ndata: {json.dumps({'html': html})}\n\n"
                elif quiet_s >= _KEEPALIVE_S:
                    quiet_s = 0.0
                    yield ": keepalive\n\n"
                await asyncio.sleep(poll_s)
                quiet_s += poll_s

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @router.get("/dashboard/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        kind = _STATIC_TYPES.get(name)
        if kind is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(_STATIC / name, media_type=kind)

    # ---- staff actions ----

    @staff_router.post(
        "/dashboard/receipts/{receipt_id}/lines/{line_no}/refund",
        tags=["dashboard"],
        status_code=204,
        responses=_STAFF_RESPONSES,
    )
    async def refund(request: Request, receipt_id: UuidPath, line_no: LineNo) -> Response:
        form = await read_form(request)
        try:
            amount = parse_kr(form.get("amount", ""))
            reason = form.get("reason", "").strip() or "refund at the service desk"
            await run_in_threadpool(
                tx,
                lambda s: checkout.refund_line(
                    s, receipt_id, line_no, amount, reason, LedgerGateway
                ),
            )
        except HostError as e:
            return staff_answer(request, form, e)
        return staff_answer(request, form, None)

    @staff_router.post(
        "/dashboard/receipts/{receipt_id}/lines/{line_no}/correction",
        tags=["dashboard"],
        status_code=204,
        responses=_STAFF_RESPONSES,
    )
    async def correction(request: Request, receipt_id: UuidPath, line_no: LineNo) -> Response:
        form = await read_form(request)
        try:
            quantity = _int_field(form, "quantity", 1000)
            if quantity is None:
                raise BadForm("a correction needs the right quantity")
            grams = _int_field(form, "grams", 100_000)
            reason = form.get("reason", "").strip() or "correction at the service desk"
            await run_in_threadpool(
                tx,
                lambda s: checkout.correct_line(
                    s, receipt_id, line_no, quantity, grams, reason, LedgerGateway
                ),
            )
        except HostError as e:
            return staff_answer(request, form, e)
        return staff_answer(request, form, None)

    # ---- the shopper's phone ----

    def code_of(cart_id: str, nonce: str, issued_at: datetime | int, sig: str) -> m.PairingCode:
        try:
            return m.PairingCode.model_validate(
                {"cart_id": cart_id, "nonce": nonce, "issued_at": issued_at, "sig": sig}
            )
        except ValidationError as e:
            raise PairingRefused("this is not a SmartCart code") from e

    @router.post(
        "/pair",
        status_code=201,
        tags=["pairing"],
        responses={
            403: {
                "description": "Forged, expired or used code; unknown pairing token; "
                "pairing not configured"
            },
        },
    )
    async def pair_json(body: PairRequest) -> PairResponse:
        try:
            code = code_of(body.cart_id, body.nonce, body.issued_at, body.sig)
            paired = await run_in_threadpool(
                pair, worker, code, body.customer_token, pairing_settings, clock()
            )
        except HostError as e:
            raise HTTPException(status_of(e), str(e)) from e
        return PairResponse(
            session_id=paired.session_id,
            cart_id=paired.cart_id,
            customer_name=paired.customer_name,
        )

    @router.get(
        "/pair",
        response_class=HTMLResponse,
        tags=["pairing"],
        responses={403: {"description": "Not a SmartCart code", "content": {"text/html": {}}}},
    )
    def phone_page(
        cart: Annotated[str, Query(max_length=64)] = "",
        nonce: Annotated[str, Query(max_length=64)] = "",
        t: Annotated[int, Query(ge=0, le=2**40)] = 0,
        sig: Annotated[str, Query(max_length=64)] = "",
    ) -> HTMLResponse:
        try:
            code = code_of(cart, nonce, t, sig)
        except PairingRefused as e:
            return HTMLResponse(
                env.get_template("phone.html").render(error=str(e)), status_code=403
            )
        return HTMLResponse(env.get_template("phone.html").render(code=code))

    @router.post("/pair/form", response_class=HTMLResponse, tags=["pairing"])
    async def phone_form(request: Request) -> HTMLResponse:
        form = await read_form(request)
        code = None
        try:
            t = _int_field(form, "t", 2**40) or 0
            code = code_of(form.get("cart", ""), form.get("nonce", ""), t, form.get("sig", ""))
            paired = await run_in_threadpool(
                pair,
                worker,
                code,
                form.get("customer_token", "").strip(),
                pairing_settings,
                clock(),
            )
        except HostError as e:
            page = env.get_template("phone.html").render(code=code, error=str(e))
            return HTMLResponse(page, status_code=status_of(e))
        return HTMLResponse(env.get_template("phone.html").render(paired=paired))

    router.include_router(staff_router)
    return router
