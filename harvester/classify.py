"""Decide what a parsed item is: a story, automated mail, a retweet, or unreadable.

``classify`` is pure. Mail counts as automated on one strong signal, such as an
``Auto-Submitted`` header (RFC 3834), a delivery report, or an empty Return-Path, or
on two weak signals, such as an "Automatic reply:" subject and an Exchange
``X-Auto-Response-Suppress`` header. ``Precedence: list`` is not a signal, because
people send real stories through group addresses and mailing lists.
Duplicate detection by content happens in the pipeline, not here.
"""

from __future__ import annotations

import re
import unicodedata

from harvester.records import Classification, Story

_AUTO_SUBMITTED_LABELS = {
    "auto-replied": "auto-reply",
    "auto-generated": "automatic message",
    "auto-notified": "automatic notification",
}
_PRECEDENCE_LABELS = {
    "auto_reply": "auto-reply",
    "bulk": "bulk mail",
    "junk": "junk mail",
}
_SYSTEM_SENDERS = ("mailer-daemon", "postmaster")
_NO_REPLY_SENDER = re.compile(r"^(no-?reply|do-?not-?reply)", re.IGNORECASE)
_AUTOMATED_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[ -]?reply|auto[ -]?respon\w*|out of (the )?office|"
    r"away from (the )?office|on vacation|undeliverable|undelivered mail|delivery status notification|"
    r"mail delivery (failed|failure|system)|returned mail|delivery failure|abwesenheitsnotiz|"
    r"r[ée]ponse automatique)",
    re.IGNORECASE,
)


def classify(story: Story) -> Classification:
    """Classify ``story`` with the reason shown to curators."""
    if story.retweet_of == "unknown":
        return Classification("retweet", "repost: the archive gives no id of the original post")
    if story.retweet_of:
        return Classification("retweet", f"repost of post {story.retweet_of}")

    reason = automated_reason(story)
    if reason is not None:
        return Classification("automated", reason)

    if not story.text.strip():
        if story.kind == "email":
            return Classification(
                "unreadable", "no story text after removing quotes and signature"
            )
        return Classification("unreadable", "the post has no text")
    if garbled_share(story.text) > MAX_GARBLED_SHARE:
        return Classification(
            "unreadable", "the text is mostly binary or undecodable characters: check the item is a mail or post"
        )
    if story.kind == "email":
        return Classification("story", "mail from a person: no auto-reply or bounce signals")
    return Classification("story", "post by a person, not a repost")


# Share of control, unassigned or replacement characters above which a text is taken
# for binary data: written text has almost none.
MAX_GARBLED_SHARE = 0.05


def garbled_share(text: str) -> float:
    """Return the share of characters that are replacement marks, controls or unassigned."""
    if not text:
        return 0.0
    bad = sum(
        1
        for character in text
        if character == "\ufffd" or (unicodedata.category(character) in ("Cc", "Co", "Cn") and character not in "\n\r\t")
    )
    return bad / len(text)


def automated_reason(story: Story) -> str | None:
    """Return why ``story`` is automated mail, or ``None`` when a person wrote it."""
    if story.kind != "email":
        return None
    strong = _strong_signal(story)
    if strong is not None:
        return strong
    weak = _weak_signals(story)
    if len(weak) >= 2:
        return "automated mail: " + " and ".join(weak)
    return None


def _header(story: Story, name: str) -> str | None:
    for key, value in story.auto_headers.items():
        if key.lower() == name.lower():
            return value.strip()
    return None


def _strong_signal(story: Story) -> str | None:
    auto_submitted = _header(story, "Auto-Submitted")
    if auto_submitted:
        token = auto_submitted.split(";")[0].strip().lower()
        if token != "no":
            label = _AUTO_SUBMITTED_LABELS.get(token, "automatic message")
            return f"{label}: Auto-Submitted: {auto_submitted} header"

    for name in ("X-Autoreply", "X-Autorespond"):
        value = _header(story, name)
        if value is not None and value.lower() not in ("no", "false", "0"):
            return f"auto-reply: {name}: {value} header"

    if (_header(story, "X-Apple-Action") or "").upper() == "VACATION":
        return "auto-reply: X-Apple-Action: VACATION header (Apple vacation message)"

    content_type = _header(story, "Content-Type") or story.content_type or ""
    if content_type.lower().startswith("multipart/report"):
        label = (
            "bounce" if "delivery-status" in content_type.lower() else "delivery report"
        )
        return f"{label}: Content-Type {content_type}"

    failed = _header(story, "X-Failed-Recipients")
    if failed:
        return f"bounce: X-Failed-Recipients: {failed} header"

    for name in ("Precedence", "X-Precedence"):
        precedence = (_header(story, name) or "").lower()
        if precedence in _PRECEDENCE_LABELS:
            return f"{_PRECEDENCE_LABELS[precedence]}: {name}: {precedence} header"

    return_path = _header(story, "Return-Path")
    if return_path is not None and return_path.replace(" ", "") in ("<>", ""):
        return (
            "bounce or auto-reply: empty Return-Path <>, which only mail systems send"
        )

    local_part = (story.author_email or "").split("@")[0].lower()
    if local_part in _SYSTEM_SENDERS:
        return f"bounce: sent by {story.author_email}"
    return None


def _weak_signals(story: Story) -> list[str]:
    signals = []
    if story.subject and _AUTOMATED_SUBJECT.match(story.subject):
        signals.append(f"subject {story.subject!r}")
    suppress = _header(story, "X-Auto-Response-Suppress")
    if suppress is not None:
        signals.append(f"X-Auto-Response-Suppress: {suppress} header")
    local_part = (story.author_email or "").split("@")[0]
    if local_part and _NO_REPLY_SENDER.match(local_part):
        signals.append(f"no-reply sender {story.author_email}")
    if _header(story, "List-Unsubscribe") is not None:
        signals.append("List-Unsubscribe header")
    return signals
