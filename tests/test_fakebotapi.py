"""FakeBotApi drives a REAL python-telegram-bot Application over real HTTP, faithfully enough.

Each test starts a real ``telegram.ext.Application`` polling the fake server on 127.0.0.1, so a
passing test here means PTB's own request, de-json and error-mapping code accepted our answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from testkit.fakebotapi import FakeBotApi

TOKEN = "123:ABC"
KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Approve", callback_data="choose:approve"),
            InlineKeyboardButton("Reject", callback_data="choose:reject"),
        ],
        [InlineKeyboardButton("Get report", callback_data="report")],
        [InlineKeyboardButton("Website", url="https://example.com")],
    ]
)


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(f"start args={','.join(context.args or [])}")


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_text(f"echo: {message.text}", reply_markup=KEYBOARD)


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    photo_file = await message.photo[-1].get_file()
    data = await photo_file.download_as_bytearray()
    await message.reply_text(f"photo {message.caption} bytes={len(data)}")


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.location is not None
    await message.reply_text(f"at {message.location.latitude},{message.location.longitude}")


async def on_choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    choice = query.data.split(":", 1)[1]
    await query.answer(f"You chose {choice}")
    await query.edit_message_text(f"Chosen: {choice}")


async def on_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer()
    await context.bot.send_document(
        chat_id=query.message.chat.id,
        document=b"visit;score\n1;95\n",
        filename="weekly-report.csv",
        caption="Weekly report",
    )


async def on_slow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Two calls with a pause longer than the fake's quiet period in between."""
    assert update.effective_message is not None
    progress = await update.effective_message.reply_text("Working…")
    await asyncio.sleep(0.3)
    await progress.edit_text("Done")


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("This button is no longer valid", show_alert=True)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def app(api: FakeBotApi) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(CommandHandler("slow", on_slow))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(filters.PHOTO, on_photo))
    application.add_handler(MessageHandler(filters.LOCATION, on_location))
    application.add_handler(CallbackQueryHandler(on_choose, pattern=r"^choose:"))
    application.add_handler(CallbackQueryHandler(on_report, pattern=r"^report$"))
    application.add_handler(CallbackQueryHandler(on_unknown_button))
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    api.assert_no_unknown_methods()


async def test_the_application_identifies_itself_through_get_me(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    assert app.bot.username == "test_msbot"
    assert app.bot.id == 1000
    assert [r.method for r in api.requests[:2]] == ["getMe", "deleteWebhook"]
    assert all(r.token == TOKEN for r in api.requests)


async def test_a_deep_link_start_command_reaches_the_handler_with_its_argument(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=501, first_name="Анна")

    reaction = await user.send_command("/start", "SHOP_42")

    assert reaction.methods == ["sendMessage"]
    assert user.last_text() == "start args=SHOP_42"
    assert reaction.update["message"]["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 6}
    ]


async def test_text_is_echoed_back_with_its_inline_keyboard(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=502, first_name="Boris")

    reaction = await user.send_text("hello")

    assert reaction.texts == ["echo: hello"]
    message = user.last_message()
    assert message.message_id == 2  # the user's own message took id 1 in this chat
    assert user.buttons() == [
        [("Approve", "choose:approve"), ("Reject", "choose:reject")],
        [("Get report", "report")],
        [("Website", None)],
    ]
    assert api.messages[502][2].text == "echo: hello"


async def test_a_pressed_button_is_answered_and_the_message_edited(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=503, first_name="Vera")
    await user.send_text("pick one")

    reaction = await user.press("Approve")

    assert sorted(reaction.methods) == ["answerCallbackQuery", "editMessageText"]
    assert [a.text for a in user.answers_to_callbacks] == ["You chose approve"]
    assert user.last_text() == "Chosen: approve"
    assert user.last_message().buttons == []  # editing without markup drops the keyboard
    assert user.last_message().edits == 1


async def test_a_multi_step_reaction_can_be_awaited_until_its_last_call(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=520)

    quick = await user.send_command("/slow")
    assert (quick.methods, user.last_text()) == (["sendMessage"], "Working…")
    await api.wait_for(lambda: user.last_text() == "Done", what="the slow edit")

    full = await user.send_command("/slow", until=lambda r: "editMessageText" in r.methods)
    assert full.methods == ["sendMessage", "editMessageText"]
    assert full.texts == ["Working…", "Done"]


async def test_a_button_can_be_pressed_by_callback_data_on_a_given_message(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=504)
    await user.send_text("first")
    first = user.last_message().message_id
    await user.send_text("second")

    await user.press("choose:reject", message_id=first)

    assert user.message(first).text == "Chosen: reject"
    assert user.last_text() == "Chosen: reject"  # most recently edited, not newest id
    assert user.messages()[-1].text == "echo: second"


async def test_forged_callback_data_still_reaches_the_bot(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=505)
    await user.send_text("menu")

    await user.press_raw("choose-but-forged" + "x" * 100)

    [answer] = user.answers_to_callbacks
    assert answer.show_alert
    assert answer.text == "This button is no longer valid"


async def test_editing_a_message_to_identical_content_raises_message_is_not_modified(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    sent = await app.bot.send_message(chat_id=506, text="Score: 90", reply_markup=KEYBOARD)

    with pytest.raises(BadRequest, match="Message is not modified"):
        await app.bot.edit_message_text(
            "Score: 90", chat_id=506, message_id=sent.message_id, reply_markup=KEYBOARD
        )
    with pytest.raises(BadRequest, match="Message is not modified"):
        await app.bot.edit_message_reply_markup(
            chat_id=506, message_id=sent.message_id, reply_markup=KEYBOARD
        )

    edited = await app.bot.edit_message_text("Score: 90", chat_id=506, message_id=sent.message_id)
    assert edited.reply_markup is None  # same text but keyboard removed: a real modification
    assert api.calls("editMessageText")[0].status == 400


async def test_a_sent_document_is_recorded_with_its_bytes_and_filename(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=507)
    await user.send_text("report please")

    reaction = await user.press("Get report")

    assert "sendDocument" in reaction.methods
    document = user.last_message().document
    assert document is not None
    assert (document.filename, document.data) == ("weekly-report.csv", b"visit;score\n1;95\n")
    assert api.uploads == [document]
    assert user.last_text() == "Weekly report"
    # ...and it can be fetched back through getFile + the file URL, like on Telegram.
    telegram_file = await app.bot.get_file(document.file_id)
    assert await telegram_file.download_as_bytearray() == bytearray(document.data)


async def test_a_user_photo_can_be_downloaded_by_the_bot(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=508)

    await user.send_photo(file_id="PHOTO1", file_unique_id="U1", caption="shelf", data=b"x" * 321)

    assert user.last_text() == "photo shelf bytes=321"
    assert api.calls("getFile")[0].params["file_id"] == "PHOTO1"
    assert len(api.downloads) == 1


async def test_a_location_reaches_the_bot(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=509)

    await user.send_location(55.75, 37.62)

    assert user.last_text() == "at 55.75,37.62"


async def test_an_injected_500_surfaces_as_a_network_error_once(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    api.fail_next("sendMessage", status=500)

    with pytest.raises(NetworkError, match="Internal Server Error"):
        await app.bot.send_message(chat_id=510, text="first try")
    await app.bot.send_message(chat_id=510, text="second try")

    assert [r.status for r in api.calls("sendMessage")] == [500, 200]
    assert [m.text for m in api.messages[510].values()] == ["second try"]


# PTB itself warns (int vs timedelta retry_after) while building RetryAfter; not our concern.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_an_injected_429_surfaces_as_retry_after(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    api.fail_next("sendMessage", times=2, status=429, retry_after=7)

    for _ in range(2):
        with pytest.raises(RetryAfter, match=r"Retry in (7 seconds|0:00:07)"):
            await app.bot.send_message(chat_id=511, text="flood")
    await app.bot.send_message(chat_id=511, text="flood")

    assert api.calls("sendMessage")[0].response["parameters"] == {"retry_after": 7}


async def test_an_injected_timeout_surfaces_as_timed_out_even_if_telegram_applied_it(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    api.fail_next("sendMessage", status="timeout", applied=True)

    started = time.monotonic()
    with pytest.raises(TimedOut):
        await app.bot.send_message(chat_id=512, text="did it arrive?", read_timeout=0.3)

    assert time.monotonic() - started < 2
    assert [m.text for m in api.messages[512].values()] == ["did it arrive?"]
    await api.wait_for(lambda: api.calls("sendMessage")[0].status == 499, timeout=2)


async def test_a_handler_failure_is_still_a_reaction_and_is_recorded(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=513)
    api.fail_next("sendMessage", status=502, chat_id=513)

    reaction = await user.send_text("anyone?")

    assert [(c.method, c.status) for c in reaction.calls] == [("sendMessage", 502)]
    assert user.messages() == []


async def test_two_users_talking_at_once_do_not_get_mixed_up(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    alice = api.user(user_id=601, first_name="Alice")
    bob = api.user(user_id=602, first_name="Bob")

    await asyncio.gather(alice.send_text("I am Alice"), bob.send_text("I am Bob"))
    await asyncio.gather(alice.press("Reject"), bob.press("Approve"))

    assert alice.last_text() == "Chosen: reject"
    assert bob.last_text() == "Chosen: approve"
    assert [a.text for a in alice.answers_to_callbacks] == ["You chose reject"]
    assert [a.text for a in bob.answers_to_callbacks] == ["You chose approve"]
    assert {c.chat_id for c in api.calls("sendMessage")} == {601, 602}


async def test_telegram_limits_on_length_and_callback_data_are_enforced(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await app.bot.send_message(chat_id=514, text="я" * 4097)
    await app.bot.send_message(chat_id=514, text="я" * 4096)

    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await app.bot.send_message(chat_id=514, text="menu", reply_markup=too_long)

    with pytest.raises(BadRequest, match="Message caption is too long"):
        await app.bot.send_document(514, document=b"1", filename="a.txt", caption="c" * 1025)


async def test_html_is_parsed_into_entities_and_broken_html_is_rejected(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    sent = await app.bot.send_message(
        chat_id=515, text="<b>Итог</b>: 5 &lt; 6 <i>ok</i>", parse_mode=ParseMode.HTML
    )

    assert sent.text == "Итог: 5 < 6 ok"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 4),
        ("italic", 12, 2),
    ]
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await app.bot.send_message(chat_id=515, text="line<br>break", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await app.bot.send_message(chat_id=515, text="<b>open", parse_mode=ParseMode.HTML)


async def test_photos_reply_keyboards_and_deletions_are_tracked_per_chat(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=521)
    photo = await app.bot.send_photo(521, photo=b"\xff\xd8jpeg", caption="Shelf")
    await app.bot.send_message(
        521, "Clean?", reply_markup=ReplyKeyboardMarkup([["Yes", "No"]], one_time_keyboard=True)
    )

    assert api.uploads[0].data == b"\xff\xd8jpeg"
    assert photo.photo[-1].file_id == api.uploads[0].file_id
    assert user.reply_keyboard() == [["Yes", "No"]]
    await app.bot.send_message(521, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert user.reply_keyboard() is None

    assert await app.bot.delete_message(521, photo.message_id)
    assert [m.text for m in user.messages()] == ["Clean?", "Thanks"]
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await app.bot.delete_message(521, photo.message_id)


async def test_json_bodies_and_query_strings_are_understood_like_forms(api: FakeBotApi) -> None:
    url = f"{api.base_url}{TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/sendMessage", json={"chat_id": 522, "text": "123"}) as resp:
            assert (await resp.json())["result"]["text"] == "123"
        async with http.post(f"{url}/SENDMESSAGE", data={"chat_id": "522", "text": "456"}) as resp:
            assert (await resp.json())["result"]["text"] == "456"  # names are case-insensitive
        async with http.get(f"{url}/getMe?unused=1") as resp:
            assert (await resp.json())["result"]["username"] == "test_msbot"

    assert [r.params for r in api.calls("sendMessage")] == [
        {"chat_id": 522, "text": "123"},
        {"chat_id": 522, "text": "456"},
    ]


async def test_a_blocked_user_makes_sends_fail_with_forbidden(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    api.user(user_id=516).blocked = True

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(chat_id=516, text="reminder")


async def test_bot_commands_round_trip_per_language(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    await app.bot.set_my_commands([BotCommand("start", "Начать")], language_code="ru")

    ru = await app.bot.get_my_commands(language_code="ru")
    default = await app.bot.get_my_commands()
    assert [(c.command, c.description) for c in ru] == [("start", "Начать")]
    assert default == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await app.bot.set_my_commands([BotCommand("Bad-Name", "x")])
    await app.bot.delete_my_commands(language_code="ru")
    assert await app.bot.get_my_commands(language_code="ru") == ()


async def test_unknown_methods_answer_404_and_are_recorded(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("sendUnicorn", api_kwargs={"chat_id": 1})

    assert [r.method for r in api.unknown_calls] == ["sendUnicorn"]
    with pytest.raises(AssertionError, match="sendUnicorn"):
        api.assert_no_unknown_methods()
    api.requests.clear()  # keep the fixture's own "no unknown methods" check meaningful


async def test_pressing_a_missing_button_fails_with_the_buttons_on_offer(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=517)
    await user.send_text("menu")

    with pytest.raises(AssertionError, match=r"no button 'Delete'.*Approve"):
        await user.press("Delete")


async def test_a_bot_that_never_polls_fails_the_wait_with_a_clear_message(
    api: FakeBotApi,
) -> None:
    user = api.user(user_id=518)

    with pytest.raises(AssertionError, match="NEVER fetched by getUpdates"):
        await user.send_text("hello?", timeout=0.2)


async def test_an_ignored_update_can_be_awaited_without_expecting_a_reaction(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = api.user(user_id=519)

    reaction = await user.send_command("/unknown", expect_reaction=False)

    assert reaction.calls == []
    assert reaction.update["update_id"] in api.delivered_at


async def test_long_polling_returns_as_soon_as_an_update_arrives_and_honours_offset(
    api: FakeBotApi,
) -> None:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as bot:
        assert await bot.get_updates(timeout=0) == ()
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        api.push_update({"message": {**_user_message(1, "ping")}})
        [update] = await poll
        assert time.monotonic() - started < 1
        assert update.message is not None and update.message.text == "ping"

        assert len(await bot.get_updates(timeout=0)) == 1  # not confirmed yet: still there
        assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()

        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert 0.9 < time.monotonic() - started < 2


async def test_a_second_concurrent_poll_terminates_the_first_with_conflict(
    api: FakeBotApi,
) -> None:
    # Two Bot instances: one Bot serialises its own getUpdates calls (pool size 1).
    async with (
        Bot(TOKEN, base_url=api.base_url) as old_instance,
        Bot(TOKEN, base_url=api.base_url) as new_instance,
    ):
        first = asyncio.create_task(old_instance.get_updates(timeout=5))
        await api.wait_for(lambda: api.calls("getUpdates"))
        second = asyncio.create_task(new_instance.get_updates(timeout=5))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        api.push_update({"message": _user_message(2, "hi")})
        assert len(await second) == 1


def _user_message(message_id: int, text: str) -> dict[str, object]:
    user = {"id": 77, "is_bot": False, "first_name": "Raw"}
    return {
        "message_id": message_id,
        "from": user,
        "chat": {"id": 77, "type": "private", "first_name": "Raw"},
        "date": int(time.time()),
        "text": text,
    }
