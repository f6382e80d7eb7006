"""The Telegram layer: python-telegram-bot handlers that hand each update to ``Service``.

Handlers stay thin: they read who sent what, run the application's call in a worker thread
(the database is never touched on the event loop) and send what it returns. Updates of
different people are handled at once, each person's in order (``bot.ordering``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.botapi import make_bot
from bot.callbacks import Route, route_of
from bot.i18n import LANGUAGES, Translator
from bot.markup import fit, inline
from bot.ordering import PerPersonOrder
from bot.outbox import MessageLedgers
from bot.reports import ReportService
from bot.service import Service
from bot.service.account import ROLE_COMMANDS
from bot.service.outcome import Outcome, Reply
from storage.db import WouldWait
from storage.models import AttachmentKind, Role
from storage.people import TelegramIdentity

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
REMINDER_SECONDS = 30 * 60
ALBUM = 10
"""Photos in one album: Telegram's limit."""
R = TypeVar("R")


def build_application(
    token: str,
    bot_api_url: str,
    service: Service,
    reports: ReportService,
    *,
    timeout: float = 10.0,
) -> Application:  # type: ignore[type-arg]
    """The bot: retried Bot API calls, Telegram's rate limits, handlers, report jobs."""
    application = (
        ApplicationBuilder()
        .bot(make_bot(token, bot_api_url, timeout=timeout))
        .post_init(_default_commands)
        .concurrent_updates(PerPersonOrder())
        .build()
    )
    outbox = MessageLedgers(service)
    front = TelegramFront(service, reports, outbox)
    reports.install(application)
    outbox.install(application)
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        front.send_reminders, interval=REMINDER_SECONDS, first=5, name="reminders"
    )
    application.add_handler(CommandHandler("start", front.on_start))
    application.add_handler(CommandHandler("help", front.on_help))
    application.add_handler(CommandHandler("language", front.on_language))
    application.add_handler(CommandHandler("visits", front.on_visits))
    application.add_handler(CommandHandler("visit", front.on_visit))
    application.add_handler(CommandHandler("resume", front.on_resume))
    application.add_handler(CommandHandler("cancel", front.on_cancel))
    application.add_handler(CommandHandler("report", front.on_report))
    application.add_handler(CommandHandler("resend", front.on_resend))
    application.add_handler(CommandHandler("review", front.on_review))
    application.add_handler(CommandHandler("overdue", front.on_overdue))
    application.add_handler(CommandHandler("followup", front.on_followup))
    application.add_handler(CommandHandler("actions", front.on_actions))
    application.add_handler(CallbackQueryHandler(front.on_callback))
    application.add_handler(MessageHandler(filters.PHOTO, front.on_photo))
    application.add_handler(
        MessageHandler(filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE, front.on_recording)
    )
    application.add_handler(
        MessageHandler(filters.Document.AUDIO | filters.Document.VIDEO, front.on_recording_file)
    )
    application.add_handler(MessageHandler(filters.LOCATION, front.on_location))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, front.on_text))
    application.add_handler(MessageHandler(filters.COMMAND, front.on_help))
    application.add_handler(MessageHandler(filters.ALL, front.on_other))
    application.add_error_handler(front.on_error)
    return application


async def _default_commands(application: Application) -> None:  # type: ignore[type-arg]
    """The command menu of strangers. Only a convenience: a failure is logged, the bot runs."""
    for language in LANGUAGES:
        t = Translator(language)
        commands = [BotCommand("start", t("command.start")), BotCommand("help", t("command.help"))]
        try:
            await application.bot.set_my_commands(
                commands, language_code=None if language == LANGUAGES[0] else language
            )
        except TelegramError as exc:
            log.warning("the %s command menu was not set (%s); the bot runs on", language, exc)


CONVERSATION = frozenset({Route.PICKER, Route.VISIT})
"""The routes of a shopper's presses, run on the event loop when nothing waits
(``TelegramFront._run_at_once``)."""


def _identity(update: Update) -> TelegramIdentity:
    user = update.effective_user
    assert user is not None
    return TelegramIdentity(
        telegram_id=user.id,
        name=user.full_name,
        username=user.username,
        language=user.language_code,
    )


class TelegramFront:
    def __init__(self, service: Service, reports: ReportService, outbox: MessageLedgers) -> None:
        self.service = service
        self.reports = reports
        self.outbox = outbox

    async def _run(self, call: Callable[..., R], *args: object) -> R:
        """``call`` in a worker thread: it may wait for the database, or take long."""
        return await asyncio.to_thread(call, *args)

    async def _run_at_once(self, call: Callable[..., R], *args: object) -> R:
        """``call`` of the conversation (one short transaction) on the event loop, told not
        to wait (``wait=False``: SQLite, no other writer at work); else, nothing done, in a
        worker thread. In a worker thread every SQLite call hands the interpreter's lock to
        the loop and back, and those hand-overs cost the bot more CPU than the work itself
        (README, "Conversation: 200 shoppers at once")."""
        try:
            return call(*args, wait=False)
        except WouldWait:
            return await self._run(call, *args)

    async def _command(
        self,
        update: Update,
        context: Context,
        call: Callable[..., Outcome],
        *args: object,
        at_once: bool = False,
    ) -> Outcome:
        """``call`` for the update's sender, its outcome delivered; ``at_once`` for a call of
        the conversation (``_run_at_once``)."""
        run = self._run_at_once if at_once else self._run
        outcome = await run(call, _identity(update), *args)
        await self._deliver(update, context, outcome)
        return outcome

    async def on_start(self, update: Update, context: Context) -> None:
        code = context.args[0] if context.args else None
        await self._command(update, context, self.service.start, code, update.update_id)

    async def on_help(self, update: Update, context: Context) -> None:
        await self._command(update, context, self.service.help)

    async def on_language(self, update: Update, context: Context) -> None:
        await self._command(update, context, self.service.language)

    async def on_visits(self, update: Update, context: Context) -> None:
        await self._command(update, context, self.service.visits)

    async def on_visit(self, update: Update, context: Context) -> None:
        await self._command(update, context, self.service.new_visit, at_once=True)

    async def on_resume(self, update: Update, context: Context) -> None:
        await self._command(update, context, self.service.resume, at_once=True)

    async def on_cancel(self, update: Update, context: Context) -> None:
        await self._command(update, context, self.service.cancel)

    async def on_review(self, update: Update, context: Context) -> None:
        await self._command(update, context, self.service.review_queue)

    async def on_overdue(self, update: Update, context: Context) -> None:
        await self._command(update, context, self.service.overdue)

    async def on_followup(self, update: Update, context: Context) -> None:
        await self._command(update, context, self.service.followup)

    async def on_actions(self, update: Update, context: Context) -> None:
        await self._command(update, context, self.service.corrective_actions)

    async def send_reminders(self, context: Context) -> None:
        """Reminders due now are added to the outbox, which sends them."""
        await self._run(self.service.reminders)
        self.outbox.kick(context.application)

    async def on_report(self, update: Update, context: Context) -> None:
        week = context.args[0] if context.args else None
        outcome = await self._command(update, context, self.service.report, week)
        request, chat = outcome.report, update.effective_chat
        if request is not None and chat is not None:
            built = await asyncio.to_thread(
                self.reports.build, request.week, request.scope, outcome.language
            )
            await self.reports.send(
                context.bot, chat.id, request.week, built, outcome.language, request.scope
            )

    async def on_resend(self, update: Update, context: Context) -> None:
        week = context.args[0] if context.args else None
        outcome = await self._command(update, context, self.service.resend, week)
        if outcome.deliver_now:
            await self.reports.run_once(context.bot)

    async def on_text(self, update: Update, context: Context) -> None:
        assert update.message is not None and update.message.text is not None
        text = update.message.text
        await self._command(
            update, context, self.service.text, text, update.update_id, at_once=True
        )

    async def on_photo(self, update: Update, context: Context) -> None:
        assert update.message is not None
        largest = update.message.photo[-1]
        await self._command(
            update,
            context,
            self.service.photo,
            largest.file_id,
            largest.file_unique_id,
            update.update_id,
            update.message.caption or "",
        )

    async def on_recording(self, update: Update, context: Context) -> None:
        message = update.message
        assert message is not None
        kind, media = next(
            (kind, media)
            for kind, media in (
                (AttachmentKind.VOICE, message.voice),
                (AttachmentKind.AUDIO, message.audio),
                (AttachmentKind.VIDEO_NOTE, message.video_note),
            )
            if media is not None
        )
        await self._command(
            update,
            context,
            self.service.recording,
            kind,
            media.file_id,
            media.file_unique_id,
            _seconds(media.to_dict().get("duration")),
            update.update_id,
            message.caption or "",
        )

    async def on_recording_file(self, update: Update, context: Context) -> None:
        """An audio or video file sent as a file: a recording all the same."""
        message = update.message
        assert message is not None and message.document is not None
        await self._command(
            update,
            context,
            self.service.recording,
            AttachmentKind.DOCUMENT,
            message.document.file_id,
            message.document.file_unique_id,
            None,
            update.update_id,
            message.caption or "",
        )

    async def on_other(self, update: Update, context: Context) -> None:
        """A sticker, a contact, a poll, a file that is no recording …: one line saying what
        the bot reads, rather than silence."""
        if update.message is None:  # an edited message, a channel post: nothing to answer
            return
        await self._command(update, context, self.service.unsupported)

    async def on_location(self, update: Update, context: Context) -> None:
        assert update.message is not None and update.message.location is not None
        where = update.message.location
        await self._command(
            update,
            context,
            self.service.location,
            where.latitude,
            where.longitude,
            update.update_id,
        )

    async def on_callback(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        pressed = query.message.message_id if query.message is not None else None
        data = query.data or ""
        # A shopper's visit and its pickers are the conversation; an admin's or a manager's
        # press (a review, a card, an action) may do more, and waits in a worker thread.
        run = self._run_at_once if route_of(data) in CONVERSATION else self._run
        who = _identity(update)
        outcome = await run(self.service.callback, who, data, update.update_id, pressed)
        await self._answer(update, context, outcome)

    async def _answer(self, update: Update, context: Context, outcome: Outcome) -> None:
        """Answer a pressed button: its toast, an edit of its message, then other messages."""
        query = update.callback_query
        assert query is not None
        chat_id = update.effective_chat.id if update.effective_chat else None
        await _each(
            "answering a button",
            chat_id,
            query.answer(outcome.toast, show_alert=outcome.alert and bool(outcome.toast)),
        )
        if outcome.edit is not None and query.message is not None:
            moved = await self._moved(context, chat_id, outcome.edit, query.message.message_id)
            await _each(
                "editing a screen",
                chat_id,
                _ignore_unchanged(
                    query.edit_message_text(
                        *fit(outcome.edit.text), reply_markup=inline(outcome.edit)
                    )
                ),
            )
            if moved and outcome.edit.visit is not None:
                await self._run_at_once(
                    self.service.shown, outcome.edit.visit, query.message.message_id
                )
        elif outcome.retire and query.message is not None:
            # An older copy of a question: it loses its buttons, the live one keeps them.
            await _each(
                "taking the buttons off an old copy",
                chat_id,
                _ignore_unchanged(query.edit_message_reply_markup(reply_markup=None)),
            )
        await self._deliver(update, context, outcome)

    async def _moved(
        self, context: Context, chat_id: int | None, reply: Reply, message_id: int
    ) -> bool:
        """Whether a visit's question, shown by editing ``message_id``, moves there from
        another message (which then loses its buttons)."""
        if reply.visit is None or chat_id is None or reply.replaces == message_id:
            return False
        await self._retire(context, chat_id, reply.replaces)
        return True

    async def _retire(self, context: Context, chat_id: int, message_id: int | None) -> None:
        """The buttons off an older copy of a question: only one can be answered."""
        if message_id is not None:
            await _each(
                "taking the buttons off an old copy",
                chat_id,
                _ignore_unchanged(
                    context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
                ),
            )

    async def _deliver(self, update: Update, context: Context, outcome: Outcome) -> None:
        """Every message of the outcome on its own: one that fails is logged, the rest go."""
        chat = update.effective_chat
        assert chat is not None
        if outcome.outbox_due:
            self.outbox.kick(context.application)
        for reply in outcome.send:
            markup = (
                self._menu(outcome.language) if reply.menu and not reply.buttons else inline(reply)
            )
            if reply.visit is not None:
                await self._retire(context, chat.id, reply.replaces)
            sent = await _each(
                "sending a reply",
                chat.id,
                context.bot.send_message(chat.id, *fit(reply.text), reply_markup=markup),
            )
            if reply.visit is not None and isinstance(sent, Message):
                await self._run_at_once(self.service.shown, reply.visit, sent.message_id)
        photos = [file_id for kind, file_id in outcome.media if kind == AttachmentKind.PHOTO]
        for start in range(0, len(photos), ALBUM):
            album = photos[start : start + ALBUM]
            await _each("sending photos", chat.id, self._send_album(context, chat.id, album))
        for kind, file_id in outcome.media:
            if kind != AttachmentKind.PHOTO:
                sending = self._send_file(context, chat.id, kind, file_id)
                await _each("sending a recording", chat.id, sending)
        if outcome.role is not None:
            await _each(
                "setting the role's command menu",
                chat.id,
                self._role_commands(context, chat.id, outcome.role, outcome.language),
            )

    def _send_album(self, context: Context, chat_id: int, file_ids: list[str]) -> Awaitable[object]:
        """Photos Telegram already has, as one album (Telegram's albums take 2 to 10)."""
        if len(file_ids) == 1:
            return context.bot.send_photo(chat_id, file_ids[0])
        return context.bot.send_media_group(chat_id, [InputMediaPhoto(f) for f in file_ids])

    def _send_file(
        self, context: Context, chat_id: int, kind: str, file_id: str
    ) -> Awaitable[Message]:
        """A file Telegram already has, sent by its id the way it was received."""
        match kind:
            case AttachmentKind.VOICE:
                return context.bot.send_voice(chat_id, file_id)
            case AttachmentKind.AUDIO:
                return context.bot.send_audio(chat_id, file_id)
            case AttachmentKind.VIDEO_NOTE:
                return context.bot.send_video_note(chat_id, file_id)
            case AttachmentKind.DOCUMENT:
                return context.bot.send_document(chat_id, file_id)
        return context.bot.send_photo(chat_id, file_id)

    def _menu(self, language: str) -> ReplyKeyboardMarkup:
        t = Translator(language)
        return ReplyKeyboardMarkup(
            [
                [t("menu.new_visit"), t("menu.resume")],
                [KeyboardButton(t("menu.nearest"), request_location=True)],
            ],
            resize_keyboard=True,
            is_persistent=True,
        )

    async def _role_commands(
        self, context: Context, chat_id: int, role: Role, language: str
    ) -> None:
        t = Translator(language)
        commands = [BotCommand(name, t(f"command.{name}")) for name in ROLE_COMMANDS[role]]
        await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))

    async def on_error(self, update: object, context: Context) -> None:
        busy = isinstance(context.error, OperationalError)
        log.error(
            "update %s failed%s",
            getattr(update, "update_id", update),
            " (database unavailable; nothing was saved)" if busy else "",
            exc_info=context.error,
        )
        if isinstance(update, Update) and update.effective_chat is not None:
            user = update.effective_user
            t = Translator(
                user.language_code
                if user and user.language_code in LANGUAGES
                else self.service.setting.default_language
            )
            try:
                key = "error.database_busy" if busy else "error.internal"
                await context.bot.send_message(update.effective_chat.id, t(key))
            except Exception:
                log.exception("could not tell chat %s about the failure", update.effective_chat.id)


MAX_DURATION = 24 * 3600
"""Seconds: a recording's length past a day is no length a shopper's recording has."""


def _seconds(duration: object) -> int | None:
    """A recording's length in whole seconds, as the Bot API sent it (read from the
    serialised form, because the attribute warns that it will become a timedelta); None
    when it is missing or no length at all."""
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        return None
    return int(duration) if 0 <= duration <= MAX_DURATION else None


async def _each(what: str, chat_id: int | None, call: Awaitable[object]) -> object:
    """One Bot API call of a reply, and what it returned; a failure is logged with its
    context and does not stop the calls after it (each message of a reply is sent on its
    own)."""
    try:
        return await call
    except TelegramError:
        log.exception("%s failed for chat %s", what, chat_id)
        return None


async def _ignore_unchanged(call: Awaitable[object]) -> None:
    """Editing a message to what it already shows is harmless (a repeated tap)."""
    try:
        await call
    except BadRequest as exc:
        if "not modified" not in str(exc):
            raise
