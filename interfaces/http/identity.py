"""/auth: register, login, refresh, logout, password reset and change, me, export."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from anyio import to_thread
from fastapi import Request, Response, status

from application.adapters.sessions import Client
from application.errors import Unauthorized
from application.exports_format import plain
from domain.identity import User
from interfaces.bootstrap import Container
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, run_command
from interfaces.http.identity_schemas import (
    ForgotBody,
    LoginBody,
    LogoutBody,
    Message,
    PasswordBody,
    ProfileBody,
    RefreshBody,
    RegisterBody,
    ResetBody,
    TokenOut,
    user_out,
)
from interfaces.http.ratelimit import get_rate_limits
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, UserOut, accepted
from projections import identity_queries

router = ContextRouter(prefix="/auth", tags=["auth"])


def client_of(request: Request) -> Client:
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
    )


async def token_out(container: Container, conn: Conn, user_id: UUID, pair: Any) -> TokenOut:
    """Tokens and the user: from the read model, or from the log while the read model is
    still catching up (a log-in right after a sign-up must not say "user not found")."""
    row = await identity_queries.get_user(conn, user_id)
    if row is not None:
        out = UserOut(**row)
    else:
        user = await to_thread.run_sync(lambda: container.store.load(User, user_id, "user"))
        out = user_out(user)
    return TokenOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        user=out,
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenOut,
    responses={
        202: {
            **ACCEPTED[202],
            "description": "Accepted: the account exists but the read model has not caught up"
            " within the wait bound; log in (or retry) shortly",
        }
    },
)
async def register(body: RegisterBody, request: Request, container: ContainerDep) -> Any:
    identity = container.identity
    saved, caught_up = await run_command(
        container,
        lambda: identity.register(email=body.email, password=body.password, name=body.name),
    )
    user = saved.value  # the new User aggregate: the answer needs no read-back
    if not caught_up:  # the account is in the log, but the API cannot see it yet
        answer = accepted("users", user.id, saved.position)
        answer.headers["Location"] = "/api/v1/auth/login"
        return answer
    client = client_of(request)
    pair = await to_thread.run_sync(lambda: identity.open_session(user_id=user.id, client=client))
    return TokenOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        user=user_out(user),
    )


@router.post("/login", response_model=TokenOut)
async def login(body: LoginBody, request: Request, container: ContainerDep, conn: Conn) -> TokenOut:
    limits = get_rate_limits(request)
    client = client_of(request)
    await limits.check_login(client.ip or "unknown", body.email)
    try:
        user_id, pair = await to_thread.run_sync(
            lambda: container.identity.login(
                email=body.email, password=body.password, client=client
            )
        )
    except Unauthorized:
        await limits.record_login_failure(body.email)
        raise
    await limits.clear_login_failures(body.email)
    return await token_out(container, conn, user_id, pair)


@router.post("/refresh", response_model=TokenOut)
async def refresh(
    body: RefreshBody, request: Request, container: ContainerDep, conn: Conn
) -> TokenOut:
    client = client_of(request)
    user_id, pair = await to_thread.run_sync(
        lambda: container.identity.refresh(refresh_token=body.refresh_token, client=client)
    )
    return await token_out(container, conn, user_id, pair)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    body: LogoutBody, request: Request, caller: CurrentUser, container: ContainerDep
) -> Response:
    """End this login: its refresh token family and its access tokens stop working."""
    client = client_of(request)
    await to_thread.run_sync(
        lambda: container.identity.logout(
            user_id=caller.id,
            refresh_token=body.refresh_token,
            session_id=caller.session_id,
            client=client,
        )
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/forgot-password", status_code=status.HTTP_202_ACCEPTED, response_model=Message)
async def forgot_password(body: ForgotBody, request: Request, container: ContainerDep) -> Message:
    client = client_of(request)
    await get_rate_limits(request).check_forgot_password(client.ip or "unknown", body.email)
    await to_thread.run_sync(
        lambda: container.identity.forgot_password(email=body.email, client=client)
    )
    return Message(detail="If an account exists for this address, a reset link is on its way.")


@router.post("/reset-password", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(body: ResetBody, request: Request, container: ContainerDep) -> Response:
    client = client_of(request)
    await run_command(
        container,
        lambda: container.identity.reset_password(
            token=body.token, new=body.password, client=client
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut)
async def me(caller: CurrentUser) -> UserOut:
    return UserOut(**caller.row)


@router.put("/me", response_model=UserOut, responses=ACCEPTED)
async def update_me(
    body: ProfileBody, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    fields = {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if not (k == "name" and v is None)
    }
    saved, caught_up = await run_command(
        container,
        lambda: container.identity.update_user(actor_id=caller.id, user_id=caller.id, **fields),
    )
    if not caught_up:
        answer = accepted("users", caller.id, saved.position)
        answer.headers["Location"] = "/api/v1/auth/me"
        return answer
    return UserOut(**(await identity_queries.get_user(conn, caller.id)))


@router.put("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordBody, request: Request, caller: CurrentUser, container: ContainerDep
) -> Response:
    """Change the password; every session (this one included) is signed out."""
    client = client_of(request)
    await run_command(
        container,
        lambda: container.identity.change_password(
            user_id=caller.id,
            current=body.current_password,
            new=body.new_password,
            client=client,
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/export")
async def export_me(caller: CurrentUser, container: ContainerDep, conn: Conn) -> dict[str, Any]:
    """Everything the service holds about the caller (GDPR data portability)."""
    data = await identity_queries.personal_data(conn, caller.id)
    security = await to_thread.run_sync(
        lambda: container.identity.sessions.export(user_id=caller.id)
    )
    history = await to_thread.run_sync(lambda: container.identity.history(user_id=caller.id))
    # Rendered as the workspace export renders the same values (application/exports_format.py).
    return plain({**data, **security, "events": history})
