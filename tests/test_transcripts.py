"""The transcripts in ``docs/transcripts/`` are what the bot says today: a screen that changes
without ``python -m testkit.transcripts`` being run again fails here, so that every change of
what a shopper reads is in front of a reviewer."""

from __future__ import annotations

import difflib

import pytest

from checklists.loader import SHIPPED_DIR, load_all
from testkit.transcripts import LANGUAGES, record, transcript_path

CHECKLISTS = [loaded.checklist.id for loaded in load_all([SHIPPED_DIR])]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("checklist_id", CHECKLISTS)
async def test_the_transcript_of_a_whole_visit_is_up_to_date(
    checklist_id: str, language: str
) -> None:
    path = transcript_path(checklist_id, language)
    now = await record(checklist_id, language)
    kept = path.read_text(encoding="utf-8") if path.exists() else ""
    changed = "".join(
        difflib.unified_diff(kept.splitlines(True), now.splitlines(True), str(path), "now", n=2)
    )
    assert not changed, f"the screens changed; run python -m testkit.transcripts\n{changed[:3000]}"
