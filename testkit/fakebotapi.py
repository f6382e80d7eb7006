"""A fake Telegram Bot API server for end-to-end tests.

Why: Telegram is unreachable from the test machines, and mocking ``telegram.Bot`` methods would
skip python-telegram-bot's real serialisation, HTTP and error-mapping code.  ``FakeBotApi`` speaks
the Bot API wire protocol over real HTTP on 127.0.0.1, so a real ``telegram.ext.Application``
(built with ``.base_url(api.base_url).base_file_url(api.base_file_url)``) runs unchanged, while
tests script users (``api.user(...)``), inject faults (``api.fail_next(...)``) and inspect what the
bot did (``api.requests``, ``api.messages``).

Telegram behaviour reproduced on purpose, because bots break on it in production:
"message is not modified" on identical edits, 4096/1024 length limits, 64-byte callback_data,
HTML ``parse_mode`` parsing/validation, answering a callback query twice, 403 for blocked users,
409 on concurrent ``getUpdates``, 429 with ``retry_after``.  ``MarkdownV2``/``Markdown`` text is
stored verbatim (not parsed or validated).  Any chat id is accepted (private chat unless < 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Literal, TypedDict, TypeVar, Unpack

from aiohttp import web

__all__ = [
    "BOT_USER",
    "ApiError",
    "CallbackAnswer",
    "FakeBotApi",
    "FakeUser",
    "Reaction",
    "RecordedRequest",
    "SentMessage",
    "StoredFile",
    "WaitOptions",
]

JSON = dict[str, Any]
T = TypeVar("T")

BOT_USER: JSON = {
    "id": 1000,
    "is_bot": True,
    "first_name": "Test Bot",
    "username": "test_msbot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
GETUPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

# Form/multipart values arrive as text: PTB JSON-encodes every non-string value and sends
# strings raw.  These parameters are strings in the Bot API, so they are never JSON-decoded
# (a text of "123" must stay a string).
# fmt: off
_STRING_PARAMS = frozenset({
    "text", "caption", "callback_query_id", "inline_message_id", "file_id", "parse_mode",
    "action", "url", "secret_token", "ip_address", "language_code", "description",
    "short_description", "name", "title", "emoji", "query", "business_connection_id",
    "message_effect_id", "photo", "document", "video", "audio", "animation", "voice", "sticker",
    "thumbnail", "phone_number", "first_name", "last_name", "address", "question",
})
# fmt: on

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

_CHAT_USER_FIELDS = ("first_name", "last_name", "username")
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
# fmt: off
_BUTTON_ACTIONS = frozenset({
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
})
# fmt: on
# Minimal valid JPEG (SOI + EOI) so a downloaded "photo" is at least recognisable as one.
FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


class ApiError(Exception):
    """A Bot API error answer; raised inside method handlers, turned into ``ok: false``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class StoredFile:
    """A file known to the fake server: uploaded by the bot or "sent" by a fake user."""

    file_id: str
    file_unique_id: str
    data: bytes
    filename: str | None = None
    mime_type: str | None = None
    file_path: str = ""
    url: str | None = None  # set when the bot sent a URL instead of bytes

    def as_document(self) -> JSON:
        doc: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.filename:
            doc["file_name"] = self.filename
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc

    def as_recording(self, kind: str, duration: int) -> JSON:
        """This file as a ``voice``, ``audio`` or ``video_note`` object of a message."""
        shown: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "duration": duration,
            "file_size": len(self.data),
        }
        if kind == "video_note":
            shown["length"] = 240
        elif self.mime_type:
            shown["mime_type"] = self.mime_type
        return shown

    def as_photo(self) -> list[JSON]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": 800,
                "height": 600,
                "file_size": len(self.data),
            }
        ]


@dataclass
class RecordedRequest:
    """One HTTP call the bot made; ``time``/``finished`` are ``time.monotonic()`` values."""

    method: str
    params: JSON
    time: float
    token: str = ""
    files: dict[str, StoredFile] = field(default_factory=dict)
    status: int | None = None  # HTTP status answered; None while in flight, 499 if client left
    response: Any = None  # the ``result`` on success, the error body otherwise
    finished: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        return _coerce_chat_id(self.params.get("chat_id"))

    def __str__(self) -> str:
        shown = {k: v for k, v in self.params.items() if k not in ("chat_id",)}
        return f"{self.method}(chat={self.chat_id}) -> {self.status} {shown}"


@dataclass
class SentMessage:
    """Current state of one message the bot sent (after any edits)."""

    chat_id: int
    message_id: int
    date: int
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    photo: StoredFile | None = None
    document: StoredFile | None = None
    voice: StoredFile | None = None
    audio: StoredFile | None = None
    video_note: StoredFile | None = None
    raw_text: str | None = None  # text/caption as sent, before parse_mode was applied
    edit_date: int | None = None
    edits: int = 0
    deleted: bool = False
    seq: int = 0  # global order of the last send/edit, for "most recent" queries

    @property
    def inline_keyboard(self) -> list[list[JSON]]:
        return list((self.reply_markup or {}).get("inline_keyboard") or [])

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard as rows of ``(text, callback_data)``; URL buttons have ``None``."""
        return [[(b["text"], b.get("callback_data")) for b in row] for row in self.inline_keyboard]

    @property
    def shown_text(self) -> str:
        """What the user reads: the text, or the caption of a media message."""
        return self.text if self.text is not None else (self.caption or "")

    def to_dict(self, chat: JSON) -> JSON:
        msg: JSON = {
            "message_id": self.message_id,
            "from": dict(BOT_USER),
            "chat": chat,
            "date": self.date,
        }
        if self.text is not None:
            msg["text"] = self.text
            if self.entities:
                msg["entities"] = self.entities
        if self.photo is not None:
            msg["photo"] = self.photo.as_photo()
        for kind in ("voice", "audio", "video_note"):
            recording = getattr(self, kind)
            if recording is not None:
                msg[kind] = recording.as_recording(kind, 5)
        if self.document is not None:
            msg["document"] = self.document.as_document()
        if self.caption is not None:
            msg["caption"] = self.caption
            if self.caption_entities:
                msg["caption_entities"] = self.caption_entities
        # Telegram only ever echoes inline keyboards inside Message objects.
        if self.inline_keyboard:
            msg["reply_markup"] = {"inline_keyboard": self.inline_keyboard}
        if self.edit_date is not None:
            msg["edit_date"] = self.edit_date
        return msg


@dataclass
class CallbackAnswer:
    """An ``answerCallbackQuery`` call, as the user would perceive it."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None = None
    cache_time: int | None = None


@dataclass
class Reaction:
    """What the bot did in response to one scripted user action."""

    update: JSON
    calls: list[RecordedRequest]

    @property
    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    @property
    def texts(self) -> list[str]:
        """Texts/captions of messages sent or edited in reaction, in call order."""
        texts = []
        for call in self.calls:
            if call.ok and isinstance(call.response, dict):
                shown = call.response.get("text", call.response.get("caption"))
                if shown is not None:
                    texts.append(shown)
        return texts


@dataclass
class _Fault:
    method: str  # lower-case
    remaining: int
    status: int | Literal["timeout"]
    retry_after: int | None
    description: str | None
    chat_id: int | str | None
    applied: bool
    seconds: float | None = None


class WaitOptions(TypedDict, total=False):
    """How a ``FakeUser`` action waits for the bot's reaction.

    wait: False returns right after queueing the update.
    expect_reaction: False accepts silence (returns once the update was fetched + a grace period).
    timeout: overall limit in seconds (default ``api.reaction_timeout``).
    until: keep waiting until this holds for the reaction so far (for multi-step handlers
        that pause longer than ``api.quiet_period`` between calls).
    """

    wait: bool
    expect_reaction: bool
    timeout: float
    until: Callable[[Reaction], bool]


def _coerce_chat_id(value: Any) -> int | str | None:
    if value is None or isinstance(value, int):
        return value
    with contextlib.suppress(ValueError):
        return int(value)
    return str(value)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_param(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _HtmlEntities(HTMLParser):
    """Turns Telegram-HTML into (plain text, entities) and rejects what Telegram rejects."""

    # Attribute names avoid HTMLParser's own (e.g. ``offset``, which getpos() relies on).
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._parts: list[str] = []
        self._units = 0  # text length so far in UTF-16 code units, like Telegram
        self._open: list[tuple[str, JSON | None]] = []
        self._found: list[JSON] = []

    def _fail(self, reason: str) -> ApiError:
        return ApiError(400, f"Bad Request: can't parse entities: {reason}")

    def _byte_offset(self) -> int:
        line, col = self.getpos()
        lines = self._source.splitlines(keepends=True)
        index = sum(len(chunk) for chunk in lines[: line - 1]) + col
        return len(self._source[:index].encode())

    def handle_data(self, data: str) -> None:
        self._parts.append(data)
        self._units += _utf16_len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        kind = _HTML_TAGS.get(tag)
        if kind is None or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            raise self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        entity: JSON = {"type": kind, "offset": self._units}
        if tag == "a":
            entity["url"] = attributes.get("href") or ""
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "code" and self._open and self._open[-1][0] == "pre":
            # <pre><code class="language-x"> is one "pre" entity with a language.
            language = attributes.get("class") or ""
            outer = self._open[-1][1]
            if language.startswith("language-") and outer is not None:
                outer["language"] = language.removeprefix("language-")
                self._open.append((tag, None))
                return
        self._open.append((tag, entity))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            expected = f'expected "</{self._open[-1][0]}>", ' if self._open else ""
            raise self._fail(
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'{expected}found "</{tag}>"'
            )
        _, entity = self._open.pop()
        if entity is not None and self._units > entity["offset"]:
            entity["length"] = self._units - entity["offset"]
            self._found.append(entity)

    def parse(self) -> tuple[str, list[JSON]]:
        self.feed(self._source)
        self.close()
        if self._open:
            raise self._fail(
                f'Can\'t find end tag corresponding to start tag "{self._open[-1][0]}"'
            )
        self._found.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self._parts), self._found


def _format_text(raw: str, parse_mode: Any, entities: Any) -> tuple[str, list[JSON]]:
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        return _HtmlEntities(raw).parse()
    return raw, list(entities or [])


def _normalise_markup(markup: Any) -> JSON | None:
    """Markup as Telegram compares it: an empty inline keyboard is no keyboard."""
    if not isinstance(markup, dict) or not markup.get("inline_keyboard"):
        return None
    return {"inline_keyboard": markup["inline_keyboard"]}


def _check_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            if not _BUTTON_ACTIONS & button.keys():
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


class FakeBotApi:
    """A Bot API server on 127.0.0.1 with scripted users, fault injection and full recording.

    Use as ``async with FakeBotApi() as api:``; everything runs on the test's event loop.
    """

    def __init__(
        self,
        *,
        quiet_period: float = 0.1,
        reaction_timeout: float = 5.0,
        hang_seconds: float = 30.0,
    ) -> None:
        self.quiet_period = quiet_period  # no calls for this long => the bot finished reacting
        self.handling: Callable[[], bool] = lambda: False
        """Set by a harness that can tell whether the bot is still handling an update: a
        reaction is not over while it is, however long the bot is quiet (a loaded machine
        can pause it between answering a button and editing its message)."""
        self.reaction_timeout = reaction_timeout
        self.hang_seconds = hang_seconds  # how long a "timeout" fault stalls at most
        self.requests: list[RecordedRequest] = []
        self.messages: dict[int, dict[int, SentMessage]] = defaultdict(dict)
        self.files: dict[str, StoredFile] = {}
        self.uploads: list[StoredFile] = []  # files the bot uploaded, in order
        self.downloads: list[str] = []  # file paths the bot downloaded
        self.updates: list[JSON] = []  # every update ever queued
        self.commands: dict[str, list[JSON]] = {}
        self.webhook: JSON | None = None
        self.delivered_at: dict[int, float] = {}  # update_id -> when getUpdates returned it
        self._pending: list[JSON] = []
        self._faults: list[_Fault] = []
        self._odd_answers: dict[str, list[Any]] = {}
        self._users: dict[int, FakeUser] = {}
        self._answered_callbacks: set[str] = set()
        self._callback_ids: set[str] = set()
        self._update_ids = itertools.count(1)
        self._message_ids: defaultdict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._file_ids = itertools.count(1)
        self._user_ids = itertools.count(100_001)
        self._callback_seq = itertools.count(1)
        self._seq = itertools.count(1)
        self._poll_generation = 0
        self._tick = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._methods: dict[str, Callable[[RecordedRequest], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "logOut": self._return_true,
            "close": self._return_true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVoice": self._send_voice,
            "sendAudio": self._send_audio,
            "sendVideoNote": self._send_video_note,
            "sendMediaGroup": self._send_media_group,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
        }
        self._canonical = {name.lower(): name for name in self._methods}

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)  # Bot API allows 50 MB uploads
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unrouted)
        # handler_cancellation: a client that gave up (timeout) must not leave handlers behind.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        self._closing = True
        self._bump()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- public helpers --------------------------------------------------------------------

    def user(
        self,
        user_id: int | None = None,
        first_name: str = "Tester",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
    ) -> FakeUser:
        """Create (or fetch, for a known id) a scripted private-chat user."""
        if user_id is not None and user_id in self._users:
            return self._users[user_id]
        uid = user_id if user_id is not None else next(self._user_ids)
        user = FakeUser(self, uid, first_name, last_name, username, language_code)
        self._users[uid] = user
        return user

    def fail_next(
        self,
        method: str,
        times: int = 1,
        status: int | Literal["timeout"] = 500,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        chat_id: int | str | None = None,
        applied: bool = False,
        seconds: float | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail like Telegram would.

        ``status`` is an HTTP/Bot API error code (429 gets ``retry_after``, default 1 s) or
        ``"timeout"``: the request stalls ``seconds`` (default ``hang_seconds``) and is then
        answered, unless the client gave up meanwhile (then it is never performed).
        ``applied=True`` performs the call's effect first (Telegram did it, the answer was
        late or lost). ``chat_id`` restricts the fault to calls for that chat.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.append(
            _Fault(
                method.lower(),
                times,
                status,
                retry_after,
                description,
                _coerce_chat_id(chat_id),
                applied,
                seconds,
            )
        )

    def answer_next(self, method: str, result: Any, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``ok: true`` and ``result``,
        whatever it is: a Bot API that answers oddly (a new or broken server)."""
        self._odd_answers[method.lower()] = [result] * times

    def calls(self, method: str | None = None, chat_id: int | None = None) -> list[RecordedRequest]:
        """Recorded requests, optionally filtered by method name and chat."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (chat_id is None or r.chat_id == chat_id)
        ]

    @property
    def unknown_calls(self) -> list[RecordedRequest]:
        """Requests for methods this fake (and so possibly Telegram) does not know."""
        return [r for r in self.requests if r.status == 404]

    def assert_no_unknown_methods(self) -> None:
        assert not self.unknown_calls, f"unknown Bot API methods called: {self.unknown_calls}"

    def push_update(self, update: JSON) -> JSON:
        """Queue a raw update (``update_id`` is assigned) for the bot's next ``getUpdates``."""
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        self._pending.append(update)
        self._bump()
        return update

    def add_file(
        self,
        data: bytes,
        filename: str | None = None,
        mime_type: str | None = None,
        *,
        file_id: str | None = None,
        file_unique_id: str | None = None,
        url: str | None = None,
    ) -> StoredFile:
        """Register a file so ``getFile`` and downloads under ``base_file_url`` work for it."""
        n = next(self._file_ids)
        folder = "photos" if (mime_type or "").startswith("image/") else "documents"
        suffix = ""
        if filename and "." in filename:
            suffix = "." + re.sub(r"[^A-Za-z0-9]", "", filename.rsplit(".", 1)[1])[:10]
        stored = StoredFile(
            file_id=file_id or f"FAKEFILE{n:06d}",
            file_unique_id=file_unique_id or f"UNIQ{n:06d}",
            data=data,
            filename=filename,
            mime_type=mime_type,
            file_path=f"{folder}/file_{n}{suffix}",
            url=url,
        )
        self.files[stored.file_id] = stored
        return stored

    async def wait_for(
        self, predicate: Callable[[], T], timeout: float = 5.0, *, what: str = "condition"
    ) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every request and every 20 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            tick = self._tick
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{what} not met within {timeout}s; last requests:\n"
                    + _describe(self.requests[-15:])
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), min(remaining, 0.02))

    def chat_for(self, chat_id: int | str) -> JSON:
        """The Chat object Telegram would report for ``chat_id``."""
        if isinstance(chat_id, int) and chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}
        user = self._users.get(chat_id) if isinstance(chat_id, int) else None
        chat: JSON = {"id": chat_id, "type": "private", "first_name": "User"}
        if user is not None:
            chat.update({k: v for k, v in user.as_dict().items() if k in _CHAT_USER_FIELDS})
        return chat

    # -- internals -------------------------------------------------------------------------

    def _bump(self) -> None:
        """Wake everyone waiting for "something happened"."""
        self._tick.set()
        self._tick = asyncio.Event()

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids[chat_id])

    def _take_fault(self, method: str, request: RecordedRequest) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method.lower() and (
                fault.chat_id is None or fault.chat_id == request.chat_id
            ):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _sleep_unless_closing(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closing and (remaining := deadline - time.monotonic()) > 0:
            tick = self._tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), remaining)

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[JSON, dict[str, StoredFile]]:
        raw: dict[str, str] = dict(request.query)
        params: JSON = {}
        uploads: dict[str, StoredFile] = {}
        if request.content_type == "application/json" and request.can_read_body:
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[key] = StoredFile(
                        file_id="",
                        file_unique_id="",
                        data=value.file.read(),
                        filename=value.filename,
                        mime_type=value.content_type,
                    )
                else:
                    raw[key] = str(value)
        decoded = {key: _decode_param(key, value) for key, value in raw.items()}
        return {**decoded, **params}, uploads

    async def _handle_api(self, request: web.Request) -> web.Response:
        params, uploads = await self._read_params(request)
        raw_method = request.match_info["method"]
        method = self._canonical.get(raw_method.lower())
        record = RecordedRequest(
            method=method or raw_method,
            params=params,
            time=time.monotonic(),
            token=request.match_info["token"],
            files=uploads,
        )
        self.requests.append(record)
        self._bump()
        try:
            if method is None:
                raise ApiError(404, "Not Found: method not found")
            result = await self._dispatch(method, record)
        except ApiError as error:
            return self._finish(record, error.status, error.body())
        except asyncio.CancelledError:
            record.status, record.finished = 499, time.monotonic()
            self._bump()
            raise
        return self._finish(record, 200, {"ok": True, "result": result})

    async def _dispatch(self, method: str, record: RecordedRequest) -> Any:
        handler = self._methods[method]
        odd = self._odd_answers.get(method.lower())
        if odd:
            return odd.pop()
        fault = self._take_fault(method, record)
        if fault is None:
            return await handler(record)
        result = await handler(record) if fault.applied else None
        if fault.status == "timeout":
            await self._sleep_unless_closing(fault.seconds or self.hang_seconds)
            return result if fault.applied else await handler(record)
        if fault.status == 429:
            description = fault.description or f"Too Many Requests: retry after {fault.retry_after}"
        else:
            description = fault.description or _DEFAULT_DESCRIPTIONS.get(fault.status, "Error")
        parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
        raise ApiError(fault.status, description, parameters)

    def _finish(self, record: RecordedRequest, status: int, body: JSON) -> web.Response:
        record.status = status
        record.response = body.get("result") if status == 200 else body
        record.finished = time.monotonic()
        self._bump()
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                self.downloads.append(path)
                return web.Response(
                    body=stored.data, content_type=stored.mime_type or "application/octet-stream"
                )
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _handle_unrouted(self, request: web.Request) -> web.Response:
        record = RecordedRequest(method=request.path, params={}, time=time.monotonic())
        self.requests.append(record)
        return self._finish(
            record, 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        )

    # -- chat/message helpers --------------------------------------------------------------

    def _target_chat(self, params: JSON) -> int:
        chat_id = _coerce_chat_id(params.get("chat_id"))
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        user = self._users.get(chat_id)
        if user is not None and user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _find_message(self, params: JSON, not_found: str) -> SentMessage:
        chat_id = self._target_chat(params)
        message = self.messages.get(chat_id, {}).get(_int_param(params, "message_id"))
        if message is None or message.deleted:
            raise ApiError(400, f"Bad Request: {not_found}")
        return message

    def _new_message(self, chat_id: int) -> SentMessage:
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            date=int(time.time()),
            seq=next(self._seq),
        )
        return message

    def _store(self, message: SentMessage) -> JSON:
        self.messages[message.chat_id][message.message_id] = message
        return message.to_dict(self.chat_for(message.chat_id))

    def _caption(self, params: JSON) -> tuple[str | None, list[JSON]]:
        raw = params.get("caption")
        if raw is None:
            return None, []
        text, entities = _format_text(
            str(raw), params.get("parse_mode"), params.get("caption_entities")
        )
        if _utf16_len(text) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        return text, entities

    def _file_param(self, record: RecordedRequest, name: str, default_mime: str) -> StoredFile:
        value = record.params.get(name)
        upload = record.files.get(name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = record.files.get(value.removeprefix("attach://"))
        if upload is not None:
            stored = self.add_file(upload.data, upload.filename, upload.mime_type or default_mime)
            self.uploads.append(stored)
            return stored
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.add_file(b"", value.rsplit("/", 1)[-1] or None, default_mime, url=value)
        if not value:
            raise ApiError(400, f"Bad Request: there is no {name} in the request")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    # -- Bot API methods -------------------------------------------------------------------

    async def _return_true(self, record: RecordedRequest) -> bool:
        return True

    async def _get_me(self, record: RecordedRequest) -> JSON:
        return dict(BOT_USER)

    async def _get_updates(self, record: RecordedRequest) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        params = record.params
        offset = _int_param(params, "offset", 0)
        limit = max(1, min(_int_param(params, "limit", 100), 100))
        timeout = max(0.0, min(float(params.get("timeout") or 0), 50.0))
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self._pending and not self._closing:
            if generation != self._poll_generation:
                raise ApiError(409, GETUPDATES_CONFLICT)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            tick = self._tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), remaining)
        batch = self._pending[:limit]
        now = time.monotonic()
        for update in batch:
            self.delivered_at.setdefault(update["update_id"], now)
        return batch

    async def _set_webhook(self, record: RecordedRequest) -> bool:
        if not record.params.get("url"):
            self.webhook = None
        else:
            self.webhook = dict(record.params)
        return True

    async def _delete_webhook(self, record: RecordedRequest) -> bool:
        self.webhook = None
        if record.params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, record: RecordedRequest) -> JSON:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    async def _send_message(self, record: RecordedRequest) -> JSON:
        params = record.params
        chat_id = self._target_chat(params)
        raw = params.get("text")
        text, entities = _format_text(
            "" if raw is None else str(raw), params.get("parse_mode"), params.get("entities")
        )
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        _check_markup(markup)
        message = self._new_message(chat_id)
        message.text, message.entities, message.raw_text = text, entities, str(raw)
        message.reply_markup = markup
        return self._store(message)

    async def _send_media(self, record: RecordedRequest, kind: str, mime: str) -> JSON:
        params = record.params
        chat_id = self._target_chat(params)
        caption, caption_entities = self._caption(params)
        markup = params.get("reply_markup")
        _check_markup(markup)
        stored = self._file_param(record, kind, mime)
        message = self._new_message(chat_id)
        setattr(message, kind, stored)
        message.caption, message.caption_entities = caption, caption_entities
        message.raw_text = params.get("caption")
        message.reply_markup = markup
        return self._store(message)

    async def _send_photo(self, record: RecordedRequest) -> JSON:
        return await self._send_media(record, "photo", "image/jpeg")

    async def _send_document(self, record: RecordedRequest) -> JSON:
        return await self._send_media(record, "document", "application/octet-stream")

    async def _send_voice(self, record: RecordedRequest) -> JSON:
        return await self._send_media(record, "voice", "audio/ogg")

    async def _send_audio(self, record: RecordedRequest) -> JSON:
        return await self._send_media(record, "audio", "audio/mpeg")

    async def _send_video_note(self, record: RecordedRequest) -> JSON:
        return await self._send_media(record, "video_note", "video/mp4")

    async def _send_media_group(self, record: RecordedRequest) -> list[JSON]:
        """An album: 2 to 10 photos (or documents, audio files) of files the server has,
        each its own message, as Telegram does."""
        params = record.params
        chat_id = self._target_chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the album")
        messages = []
        for entry in media:
            kind = entry.get("type") if isinstance(entry, dict) else None
            if kind not in ("photo", "document", "audio"):
                raise ApiError(400, "Bad Request: wrong media type in the album")
            stored = self.files.get(str(entry.get("media")))
            if stored is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            message = self._new_message(chat_id)
            setattr(message, kind, stored)
            messages.append(self._store(message))
        return messages

    def _edited(self, message: SentMessage) -> JSON:
        message.edit_date = int(time.time())
        message.edits += 1
        message.seq = next(self._seq)
        return self._store(message)

    async def _edit_message_text(self, record: RecordedRequest) -> JSON | bool:
        params = record.params
        raw = params.get("text")
        text, entities = _format_text(
            "" if raw is None else str(raw), params.get("parse_mode"), params.get("entities")
        )
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        _check_markup(markup)
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params, "message to edit not found")
        if message.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if (
            message.text == text
            and message.entities == entities
            and _normalise_markup(message.reply_markup) == _normalise_markup(markup)
        ):
            raise ApiError(400, NOT_MODIFIED)
        message.text, message.entities, message.raw_text = text, entities, str(raw)
        message.reply_markup = _normalise_markup(markup)
        return self._edited(message)

    async def _edit_message_caption(self, record: RecordedRequest) -> JSON | bool:
        params = record.params
        caption, caption_entities = self._caption(params)
        markup = params.get("reply_markup")
        _check_markup(markup)
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params, "message to edit not found")
        if message.text is not None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        if (
            message.caption == caption
            and message.caption_entities == caption_entities
            and _normalise_markup(message.reply_markup) == _normalise_markup(markup)
        ):
            raise ApiError(400, NOT_MODIFIED)
        message.caption, message.caption_entities = caption, caption_entities
        message.raw_text = params.get("caption")
        message.reply_markup = _normalise_markup(markup)
        return self._edited(message)

    async def _edit_message_reply_markup(self, record: RecordedRequest) -> JSON | bool:
        params = record.params
        markup = params.get("reply_markup")
        _check_markup(markup)
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params, "message to edit not found")
        if _normalise_markup(message.reply_markup) == _normalise_markup(markup):
            raise ApiError(400, NOT_MODIFIED)
        message.reply_markup = _normalise_markup(markup)
        return self._edited(message)

    async def _delete_message(self, record: RecordedRequest) -> bool:
        message = self._find_message(record.params, "message to delete not found")
        message.deleted = True
        message.seq = next(self._seq)
        return True

    async def _delete_messages(self, record: RecordedRequest) -> bool:
        chat_id = self._target_chat(record.params)
        for message_id in record.params.get("message_ids") or []:
            message = self.messages.get(chat_id, {}).get(int(message_id))
            if message is not None:
                message.deleted = True
        return True

    async def _answer_callback_query(self, record: RecordedRequest) -> bool:
        query_id = str(record.params.get("callback_query_id") or "")
        if query_id not in self._callback_ids or query_id in self._answered_callbacks:
            raise ApiError(400, QUERY_INVALID)
        text = record.params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._answered_callbacks.add(query_id)
        return True

    async def _get_file(self, record: RecordedRequest) -> JSON:
        stored = self.files.get(str(record.params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _send_chat_action(self, record: RecordedRequest) -> bool:
        self._target_chat(record.params)
        return True

    @staticmethod
    def _commands_key(params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    async def _set_my_commands(self, record: RecordedRequest) -> bool:
        commands = record.params.get("commands") or []
        for command in commands:
            if not _BOT_COMMAND_NAME_RE.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        self.commands[self._commands_key(record.params)] = list(commands)
        return True

    async def _get_my_commands(self, record: RecordedRequest) -> list[JSON]:
        return self.commands.get(self._commands_key(record.params), [])

    async def _delete_my_commands(self, record: RecordedRequest) -> bool:
        self.commands.pop(self._commands_key(record.params), None)
        return True


def _int_param(params: JSON, name: str, default: int = 0) -> int:
    value = params.get(name)
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


def _describe(requests: list[RecordedRequest]) -> str:
    return "\n".join(f"  {r}" for r in requests) or "  (none)"


class FakeUser:
    """A scripted Telegram user in a private chat with the bot.

    Actions (``send_*``, ``press*``) queue a realistic update and, by default, return once the
    bot has reacted for this chat and then been quiet for ``api.quiet_period``.
    """

    def __init__(
        self,
        api: FakeBotApi,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        self.api = api
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.blocked = False  # True => bot calls for this chat answer 403 "blocked by the user"
        self.callback_query_ids: list[str] = []

    @property
    def chat_id(self) -> int:
        return self.user_id

    def as_dict(self) -> JSON:
        """This user as a Telegram User object."""
        user: JSON = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    # -- actions ---------------------------------------------------------------------------

    async def send_text(
        self,
        text: str,
        *,
        entities: list[JSON] | None = None,
        **wait: Unpack[WaitOptions],
    ) -> Reaction:
        """Send a text message; a leading ``/command`` gets its ``bot_command`` entity."""
        message = self._message(text=text)
        if entities is None:
            match = _COMMAND_RE.match(text)
            entities = (
                [{"type": "bot_command", "offset": 0, "length": _utf16_len(match.group())}]
                if match
                else []
            )
        if entities:
            message["entities"] = entities
        return await self._act({"message": message}, wait)

    async def send_command(
        self,
        command: str,
        *args: str,
        **wait: Unpack[WaitOptions],
    ) -> Reaction:
        """Send ``/command arg ...`` (e.g. a deep link: ``send_command("/start", "CODE")``)."""
        command = command if command.startswith("/") else f"/{command}"
        text = " ".join([command, *args])
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
        return await self.send_text(text, entities=[entity], **wait)

    async def send_recording(
        self,
        kind: str = "voice",
        file_id: str | None = None,
        file_unique_id: str | None = None,
        duration: int = 5,
        caption: str | None = None,
        **wait: Unpack[WaitOptions],
    ) -> Reaction:
        """Send a voice note (``kind="voice"``), an audio file or a video note."""
        mime = {"voice": "audio/ogg", "audio": "audio/mpeg", "video_note": "video/mp4"}[kind]
        stored = self.api.add_file(
            b"OggS-fake", None, mime, file_id=file_id, file_unique_id=file_unique_id
        )
        message = self._message(**{kind: stored.as_recording(kind, duration)})
        if caption is not None:
            message["caption"] = caption
        return await self._act({"message": message}, wait)

    async def send_photo(
        self,
        file_id: str | None = None,
        file_unique_id: str | None = None,
        caption: str | None = None,
        *,
        data: bytes = FAKE_JPEG,
        **wait: Unpack[WaitOptions],
    ) -> Reaction:
        """Send a photo; its bytes are downloadable by the bot via ``getFile``."""
        stored = self.api.add_file(
            data, None, "image/jpeg", file_id=file_id, file_unique_id=file_unique_id
        )
        message = self._message(photo=stored.as_photo())
        if caption is not None:
            message["caption"] = caption
        return await self._act({"message": message}, wait)

    async def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        **wait: Unpack[WaitOptions],
    ) -> Reaction:
        """Send a document; its bytes are downloadable by the bot via ``getFile``."""
        stored = self.api.add_file(data, filename, mime_type)
        message = self._message(document=stored.as_document())
        if caption is not None:
            message["caption"] = caption
        return await self._act({"message": message}, wait)

    async def send_location(
        self,
        latitude: float,
        longitude: float,
        **wait: Unpack[WaitOptions],
    ) -> Reaction:
        """Share a location (e.g. a shopper proving they are at the store)."""
        message = self._message(location={"latitude": latitude, "longitude": longitude})
        return await self._act({"message": message}, wait)

    async def press(
        self,
        button: str,
        message_id: int | None = None,
        **wait: Unpack[WaitOptions],
    ) -> Reaction:
        """Press an inline button by its text (preferred) or callback_data.

        Looks at ``message_id`` or else the newest bot message in this chat with a keyboard.
        """
        message = self._keyboard_message(message_id)
        buttons = [b for row in message.inline_keyboard for b in row]
        found = next((b for b in buttons if b.get("text") == button), None) or next(
            (b for b in buttons if b.get("callback_data") == button), None
        )
        if found is None:
            raise AssertionError(
                f"no button {button!r} on message {message.message_id} "
                f"({message.shown_text!r}); buttons: {message.buttons}"
            )
        if found.get("callback_data") is None:
            raise AssertionError(f"button {button!r} has no callback_data: {found}")
        return await self._callback(message, found["callback_data"], wait)

    async def press_raw(
        self,
        callback_data: str,
        message_id: int | None = None,
        **wait: Unpack[WaitOptions],
    ) -> Reaction:
        """Send a callback query with arbitrary (e.g. forged or stale) data."""
        if message_id is None:
            with_keyboard = [m for m in self.messages() if m.inline_keyboard]
            candidates = with_keyboard or self.messages()
            if not candidates:
                raise AssertionError(f"the bot has sent no message to chat {self.chat_id}")
            message = candidates[-1]
        else:
            message = self.message(message_id)
        return await self._callback(message, callback_data, wait)

    # -- what the user sees ----------------------------------------------------------------

    def messages(self) -> list[SentMessage]:
        """Bot messages still visible in this chat, oldest first."""
        chat = self.api.messages.get(self.chat_id, {})
        return [m for _, m in sorted(chat.items()) if not m.deleted]

    def message(self, message_id: int) -> SentMessage:
        found = self.api.messages.get(self.chat_id, {}).get(message_id)
        if found is None or found.deleted:
            raise AssertionError(f"no bot message {message_id} in chat {self.chat_id}")
        return found

    def last_message(self) -> SentMessage:
        """The bot message most recently sent or edited in this chat."""
        visible = self.messages()
        if not visible:
            raise AssertionError(f"the bot has sent no message to chat {self.chat_id}")
        return max(visible, key=lambda m: m.seq)

    def last_text(self) -> str:
        """Text (or caption) of the bot message most recently sent or edited in this chat."""
        return self.last_message().shown_text

    def buttons(self, message_id: int | None = None) -> list[list[tuple[str, str | None]]]:
        """Inline buttons that ``press`` would use: rows of ``(text, callback_data)``."""
        return self._keyboard_message(message_id).buttons

    def reply_keyboard(self) -> list[list[str]] | None:
        """The reply keyboard currently shown, or None (never sent, or removed)."""
        for message in sorted(self.messages(), key=lambda m: m.message_id, reverse=True):
            markup = message.reply_markup or {}
            if markup.get("remove_keyboard"):
                return None
            if "keyboard" in markup:
                return [
                    [b if isinstance(b, str) else b.get("text", "") for b in row]
                    for row in markup["keyboard"]
                ]
        return None

    @property
    def answers_to_callbacks(self) -> list[CallbackAnswer]:
        """Successful ``answerCallbackQuery`` calls for this user's button presses."""
        mine = set(self.callback_query_ids)
        return [
            CallbackAnswer(
                callback_query_id=str(r.params["callback_query_id"]),
                text=r.params.get("text"),
                show_alert=bool(r.params.get("show_alert")),
                url=r.params.get("url"),
                cache_time=r.params.get("cache_time"),
            )
            for r in self.api.calls("answerCallbackQuery")
            if r.ok and str(r.params.get("callback_query_id")) in mine
        ]

    # -- internals -------------------------------------------------------------------------

    def _message(self, **content: Any) -> JSON:
        return {
            "message_id": self.api._next_message_id(self.chat_id),
            "from": self.as_dict(),
            "chat": self.api.chat_for(self.chat_id),
            "date": int(time.time()),
            **content,
        }

    def _keyboard_message(self, message_id: int | None) -> SentMessage:
        if message_id is not None:
            return self.message(message_id)
        with_keyboard = [m for m in self.messages() if m.inline_keyboard]
        if not with_keyboard:
            raise AssertionError(
                f"no bot message with an inline keyboard in chat {self.chat_id}; messages: "
                f"{[(m.message_id, m.shown_text) for m in self.messages()]}"
            )
        return with_keyboard[-1]

    async def _callback(
        self,
        message: SentMessage,
        data: str,
        wait: WaitOptions,
    ) -> Reaction:
        query_id = f"{self.user_id}{next(self.api._callback_seq):08d}"
        self.api._callback_ids.add(query_id)
        self.callback_query_ids.append(query_id)
        query = {
            "id": query_id,
            "from": self.as_dict(),
            "message": message.to_dict(self.api.chat_for(self.chat_id)),
            "chat_instance": f"{self.user_id}{BOT_USER['id']}",
            "data": data,
        }
        return await self._act({"callback_query": query}, wait)

    def _concerns(self, request: RecordedRequest) -> bool:
        if request.method == "answerCallbackQuery":
            return str(request.params.get("callback_query_id")) in self.callback_query_ids
        return request.method != "getUpdates" and request.chat_id == self.chat_id

    async def _act(self, payload: JSON, options: WaitOptions) -> Reaction:
        api = self.api
        start = len(api.requests)
        update = api.push_update(payload)
        if not options.get("wait", True):
            return Reaction(update, [])
        expect_reaction = options.get("expect_reaction", True)
        until = options.get("until")
        limit = options.get("timeout", api.reaction_timeout)
        deadline = time.monotonic() + limit
        idle = max(api.quiet_period * 4, 0.2)  # grace period when no reaction is expected
        while True:
            tick = api._tick
            now = time.monotonic()
            mine = [r for r in api.requests[start:] if self._concerns(r)]
            if mine and (until is None or until(Reaction(update, mine))):
                busy = any(r.finished is None for r in mine) or api.handling()
                last = max(r.finished or r.time for r in mine)
                if not busy and now - last >= api.quiet_period:
                    return Reaction(update, mine)
                pause = 0.02 if busy else api.quiet_period - (now - last)
            elif not mine and not expect_reaction and update["update_id"] in api.delivered_at:
                silent_for = now - api.delivered_at[update["update_id"]]
                if silent_for >= idle:
                    return Reaction(update, [])
                pause = idle - silent_for
            else:
                pause = deadline - now
            if now >= deadline:
                raise AssertionError(self._no_reaction(update, start, limit, until is not None))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), max(0.001, min(pause, deadline - now)))

    def _no_reaction(self, update: JSON, start: int, limit: float, has_until: bool) -> str:
        api = self.api
        update_id = update["update_id"]
        delivered = (
            "was delivered by getUpdates"
            if update_id in api.delivered_at
            else "was NEVER fetched by getUpdates (is the Application polling this server?)"
        )
        what = "as required by `until`" if has_until else ""
        return (
            f"bot did not react {what} to {self.first_name} ({self.chat_id}) within {limit}s.\n"
            f"update {update_id} {delivered}: {json.dumps(update, ensure_ascii=False)[:300]}\n"
            f"requests since (all chats):\n{_describe(api.requests[start:])}"
        )
