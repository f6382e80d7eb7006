"""The Bot API client as this product needs it, on top of python-telegram-bot's.

Three things the library's defaults get wrong for us (each has a test in tests/test_botapi.py
or tests/test_faults.py):

- **A call that failed for a passing reason is retried** (a 5xx answer, a network error, a
  timeout) with a doubling pause; Telegram's 429 is the rate limiter's job. A message that
  timed out may then arrive twice, which is better than a shopper's screen never arriving.
- **An upload is never repeated once its request was written**, nor is any call made
  ``sent_once()`` (a ledger's message: a visit card). A read timeout on ``sendDocument``
  does not mean Telegram did not get the file, and a bot cannot ask whether a message
  arrived; the call ends in ``OutcomeUnknown`` and the ledger decides.
- **Polling survives Telegram's surprises.** An update the library cannot parse is logged
  once and skipped (otherwise the offset never moves past it and the bot serves nobody);
  after an outage the next poll comes at most ``MAX_POLL_PAUSE`` later, where the library's
  own loop backs off to 30 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import httpx
from telegram import Update, User
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest, RequestData

log = logging.getLogger(__name__)

MAX_POLL_PAUSE = 5.0
"""The longest pause between polls while Telegram is unreachable or failing."""
WRITTEN = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)
"""httpx failures that come after the whole request went out: Telegram may have acted."""


_ONCE: ContextVar[bool] = ContextVar("sent_once", default=False)


@contextmanager
def sent_once() -> Iterator[None]:
    """Bot API calls made inside are treated like uploads: never repeated here once their
    request was written, and an error answer is not retried either; the ledger that made
    them decides what happens next."""
    token = _ONCE.set(True)
    try:
        yield
    finally:
        _ONCE.reset(token)


class OutcomeUnknown(TimedOut):
    """An upload was written and no answer came: it may or may not have arrived."""


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a failed upload may have reached Telegram (its request went out whole)."""
    return isinstance(exc, OutcomeUnknown) or (
        isinstance(exc, NetworkError) and isinstance(exc.__cause__, WRITTEN)
    )


def file_url(bot_api_url: str) -> str:
    """``http://host/bot`` → ``http://host/file/bot``, as the Bot API serves files."""
    head, _, tail = bot_api_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}"


def _method(url: str) -> str:
    """The Bot API method of a request URL, without the token that precedes it."""
    return url.rstrip("/").rpartition("/")[2]


class RetryingRequest(HTTPXRequest):
    """Bot API calls retried after passing failures; uploads never after they were written."""

    def __init__(self, attempts: int = 4, first_pause: float = 0.5, **options: Any) -> None:
        super().__init__(**options)
        self.attempts = attempts
        self.first_pause = first_pause

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        upload = _ONCE.get() or (request_data is not None and request_data.contains_files)
        pause = self.first_pause
        for attempt in range(1, self.attempts + 1):
            try:
                code, payload = await super().do_request(
                    url,
                    method,
                    request_data,
                    read_timeout,
                    write_timeout,
                    connect_timeout,
                    pool_timeout,
                )
            except NetworkError as exc:
                if upload and outcome_unknown(exc):
                    raise OutcomeUnknown(
                        f"{_method(url)} was sent, and no answer came "
                        f"({type(exc.__cause__).__name__})"
                    ) from exc
                if attempt == self.attempts:
                    raise
                reason = f"{type(exc).__name__}: {exc}"
            else:
                # An upload that Telegram answered with an error is the ledger's to retry.
                if code < HTTPStatus.INTERNAL_SERVER_ERROR or upload or attempt == self.attempts:
                    return code, payload
                reason = f"HTTP {code}"
            log.warning(
                "Bot API call %s failed (%s); try %d of %d in %.1f s",
                _method(url),
                reason,
                attempt + 1,
                self.attempts,
                pause,
            )
            await asyncio.sleep(pause)
            pause *= 2
        raise AssertionError("unreachable")


class TolerantBot(ExtBot[Any]):
    """``ExtBot`` whose polling skips unreadable updates and pauses at most 5 s on errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._poll_pause = 0.0

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        """Like the library's, but each update is parsed on its own: one that cannot be is
        logged with its id and handed on empty, so the offset moves past it. A network
        failure pauses (0.5 s doubling, at most ``MAX_POLL_PAUSE``) and returns no updates."""
        waiting = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout or 0
        base = (
            self._request[0].read_timeout
            if isinstance(read_timeout, DefaultValue)
            else read_timeout
        )
        try:
            result = await self._post(
                "getUpdates",
                {
                    "timeout": timeout,
                    "offset": offset,
                    "limit": limit,
                    "allowed_updates": allowed_updates,
                },
                read_timeout=(base or 0) + waiting,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
                api_kwargs=api_kwargs,
            )
        except NetworkError as exc:
            self._poll_pause = min(MAX_POLL_PAUSE, max(0.5, self._poll_pause * 2))
            log.warning(
                "getUpdates failed (%s: %s); polling again in %.1f s",
                type(exc).__name__,
                exc,
                self._poll_pause,
            )
            await asyncio.sleep(self._poll_pause)
            return ()
        self._poll_pause = 0.0
        return tuple(update for update in map(self._parsed, result) if update is not None)

    async def get_me(self, *args: Any, **kwargs: Any) -> User:
        """The bot's own account; an answer that is not one is a ``TelegramError`` (the
        start-up reports it in one line) rather than whatever parsing it raised."""
        try:
            return await super().get_me(*args, **kwargs)
        except TelegramError:
            raise
        except Exception as exc:
            raise TelegramError(f"getMe did not return the bot's account ({exc!r})") from exc

    def _parsed(self, data: object) -> Update | None:
        try:
            return Update.de_json(data, self)  # type: ignore[arg-type]
        except Exception as exc:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if not isinstance(update_id, int):
                log.error("an update without an id was skipped: %r", type(data).__name__)
                return None
            log.error(
                "update %d could not be read and is skipped (%s: %s)",
                update_id,
                type(exc).__name__,
                exc,
            )
            return Update(update_id)


def make_bot(
    token: str, bot_api_url: str, *, timeout: float = 10.0, rate_limited: bool = True
) -> TolerantBot:
    """The bot client every part of the product uses: the bot itself and ``msbot report``."""
    request = RetryingRequest(
        connection_pool_size=64,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
    )
    polling = HTTPXRequest(connection_pool_size=1, read_timeout=timeout, connect_timeout=timeout)
    return TolerantBot(
        token,
        base_url=bot_api_url,
        base_file_url=file_url(bot_api_url),
        request=request,
        get_updates_request=polling,
        rate_limiter=AIORateLimiter(max_retries=3) if rate_limited else None,
    )
