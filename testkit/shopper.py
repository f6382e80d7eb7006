"""A scripted shopper's ways through a visit in the real bot, shared by the end-to-end tests."""

from __future__ import annotations

from testkit.fakebotapi import FakeBotApi, FakeUser, SentMessage


def labels(user: FakeUser) -> list[str]:
    return [label for row in user.last_message().buttons for label, _ in row]


async def open_visit(
    user: FakeUser, checklist: str = "Store visit", employee: str = "Anna Ivanova · Seller"
) -> None:
    await user.send_command("/visit")
    await user.press("⭐ Tverskaya")
    await user.press(checklist)
    await user.press(employee)


async def answer_everything(user: FakeUser, *, critical: str = "Yes") -> None:
    """Answer every question the way a hurried shopper would: ``critical`` to the first
    yes/no, "Yes" to the others, the highest number offered, the first of several ticks,
    seconds typed, a comment where an answer demands one, optional ones skipped; then
    submit."""
    first_yes_no, ticked = True, None
    for _ in range(80):
        text, shown = user.last_text(), labels(user)
        submit = [b for b in shown if b in ("✅ Submit", "✅ Отправить")]
        yes = [b for b in shown if b in ("Yes", "Да")]
        skip = [b for b in shown if b in ("Skip ▶", "Пропустить ▶")]
        done = [b for b in shown if b in ("✅ Done", "✅ Готово")]
        comment = [b for b in shown if b in ("💬 Comment", "💬 Комментарий")]
        if submit:
            await user.press(submit[0])
            return
        if "❗" in text and comment:
            await user.press(comment[0])
            await user.send_text("Noted")
        elif yes:
            await user.press(yes[0] if critical == "Yes" or not first_yes_no else critical)
            first_yes_no = False
        elif skip:
            await user.press(skip[0])
        elif done:  # several ticks: the first, then done
            question = user.last_message().message_id
            await user.press(done[0] if ticked == question else shown[0])
            ticked = question
        elif any(b.isdigit() for b in shown):
            await user.press([b for b in shown if b.isdigit()][-1])
        elif "seconds" in text or "секунд" in text:
            await user.send_text("10")
        else:
            await user.press(shown[0])
    raise AssertionError("the visit never reached its review")


async def card_arrived(api: FakeBotApi, manager: FakeUser) -> SentMessage:
    """The newest visit card in a manager's chat. Cards go out in the background after the
    shopper's submission is answered: a test that scripts the manager next waits for it,
    or the card may land between the manager's command and its answer."""

    def newest() -> SentMessage | None:
        cards = [
            m
            for m in manager.messages()
            if any((data or "").startswith("mc:") for row in m.buttons for _, data in row)
        ]
        return cards[-1] if cards else None

    return await api.wait_for(newest, what="the visit's card")
