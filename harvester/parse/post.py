"""Turn one X post, as a source stored it, into a Story (pure: no I/O).

Two payload shapes arrive here, both compact JSON:

* ``{"data": post, "includes": {"users": [...], "tweets": [...]}}``: one post of an
  X API v2 response page, with the users and referenced posts it points to. A post
  flattened by ``twarc2 flatten`` carries its ``author``, its mentioned users and its
  referenced posts inline instead.
* ``{"tags_row": {...}}``: one row of a TAGS archive sheet saved as CSV.

The story text is the full text of the post: ``note_tweet.text`` for a long post,
never the truncated ``text``. A retweet keeps its own id and author, takes the full
text of the original when the original is included, and names it in ``retweet_of``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from harvester.errors import ItemError
from harvester.records import RawItem, Story

# ``retweet_of`` of a retweet whose original id the input does not contain. A TAGS
# sheet stores only "RT @user: ..." text, without the id of the retweeted post.
UNKNOWN_ORIGINAL = "unknown"

# X post ids are Snowflake ids: the high bits count milliseconds since this epoch.
_SNOWFLAKE_EPOCH_MS = 1288834974657
_FIRST_SNOWFLAKE_ID = 29_700_859_247  # ids below this predate Snowflake (November 2010)

_TAGS_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"
_TAGS_MISSING = {"", "NA", "N/A", "NULL", "None"}
_RETWEET_PREFIX = re.compile(r"^RT @(\w{1,15}):")
_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")


def parse_post(raw: RawItem) -> Story:
    """Parse a post payload into a Story, or raise ItemError saying what is wrong."""
    label = raw.origin or f"{raw.source} post {raw.external_id}"
    try:
        payload = json.loads(raw.payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise ItemError(
            label,
            f"invalid JSON in the post payload ({error}): fetch or import the post again",
        ) from error
    if not isinstance(payload, dict):
        raise ItemError(
            label,
            "the post payload is not a JSON object: fetch or import the post again",
        )

    if "tags_row" in payload:
        return _parse_tags_row(raw, label, payload["tags_row"])
    if isinstance(payload.get("data"), dict):
        return _parse_v2(raw, label, payload["data"], payload.get("includes") or {})
    if "id" in payload and "text" in payload:
        return _parse_v2(raw, label, payload, {})
    raise ItemError(
        label,
        "the payload is neither an X API v2 post ('data') nor a TAGS sheet row ('tags_row'): "
        "check the import format",
    )


def snowflake_time(post_id: str) -> datetime | None:
    """Return the UTC time encoded in an X post id, or None for ids older than Snowflake."""
    if not post_id.isdigit() or int(post_id) < _FIRST_SNOWFLAKE_ID:
        return None
    milliseconds = (int(post_id) >> 22) + _SNOWFLAKE_EPOCH_MS
    return datetime.fromtimestamp(milliseconds / 1000, timezone.utc)


def unescape_text(text: str) -> str:
    """Undo the escaping X applies to post text, which covers only ``&``, ``<`` and ``>``."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# X API v2 posts


def _index_users(
    post: dict[str, Any], includes: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Map user id to user, from ``includes.users`` and from users a flattened post carries inline."""
    users: dict[str, dict[str, Any]] = {}
    for user in includes.get("users") or []:
        if isinstance(user, dict) and user.get("id"):
            users[str(user["id"])] = user
    candidates = [
        post,
        *[ref for ref in post.get("referenced_tweets") or [] if isinstance(ref, dict)],
    ]
    for item in candidates:
        author = item.get("author")
        if isinstance(author, dict) and author.get("id"):
            users.setdefault(str(author["id"]), author)
        for mention in _mention_entities(item):
            if mention.get("id") and mention.get("name"):
                users.setdefault(str(mention["id"]), mention)
    return users


def _index_posts(
    post: dict[str, Any], includes: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Map post id to post, from ``includes.tweets`` and from inline referenced posts."""
    posts: dict[str, dict[str, Any]] = {}
    for item in includes.get("tweets") or []:
        if isinstance(item, dict) and item.get("id"):
            posts[str(item["id"])] = item
    for reference in post.get("referenced_tweets") or []:
        if isinstance(reference, dict) and reference.get("id") and "text" in reference:
            posts.setdefault(str(reference["id"]), reference)
    return posts


def _mention_entities(post: dict[str, Any]) -> list[dict[str, Any]]:
    note = post.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("entities"), dict):
        mentions = note["entities"].get("mentions")
    else:
        mentions = (post.get("entities") or {}).get("mentions")
    return [mention for mention in mentions or [] if isinstance(mention, dict)]


def full_text(post: dict[str, Any]) -> str | None:
    """Return the untruncated text of a v2 post: ``note_tweet.text`` when present, else ``text``."""
    note = post.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str):
        return note["text"]
    text = post.get("text")
    return text if isinstance(text, str) else None


def _references(post: dict[str, Any]) -> dict[str, str]:
    """Map reference type (``retweeted``, ``quoted``, ``replied_to``) to the referenced post id."""
    found: dict[str, str] = {}
    for reference in post.get("referenced_tweets") or []:
        if (
            isinstance(reference, dict)
            and reference.get("type")
            and reference.get("id")
        ):
            found.setdefault(str(reference["type"]), str(reference["id"]))
    return found


def _mentions(
    posts: list[dict[str, Any]], text: str, users: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """Resolve each @mention to its display name, leaving out users missing from the includes."""
    by_username = {
        str(user.get("username", "")).lower(): user
        for user in users.values()
        if user.get("username")
    }
    mentions: dict[str, str] = {}
    for post in posts:
        for mention in _mention_entities(post):
            username = str(mention.get("username") or "").lower()
            user = users.get(str(mention.get("id"))) or by_username.get(username)
            if username and user and user.get("name"):
                mentions[username] = str(user["name"])
    # Posts fetched without the entities field still name their mentions in the text.
    for match in _MENTION.finditer(text):
        username = match.group(1).lower()
        user = by_username.get(username)
        if username not in mentions and user and user.get("name"):
            mentions[username] = str(user["name"])
    return mentions


def _created_at(value: Any, post_id: str, label: str, defects: list[str]) -> datetime:
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)  # Python 3.11 reads the "Z" suffix
        except ValueError:
            defects.append(
                f"invalid created_at {value!r}: the time was taken from the post id"
            )
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.astimezone(timezone.utc)
    else:
        defects.append("created_at missing: the time was taken from the post id")
    derived = snowflake_time(post_id)
    if derived is None:
        raise ItemError(
            label,
            f"post {post_id} has no created_at and its id encodes no time: "
            "fetch it again with tweet.fields=created_at",
        )
    return derived


def _parse_v2(
    raw: RawItem, label: str, post: dict[str, Any], includes: dict[str, Any]
) -> Story:
    post_id = str(post.get("id") or "")
    if not post_id:
        raise ItemError(label, "the post has no id: export the file again with twarc2")
    text = full_text(post)
    if text is None:
        raise ItemError(
            label,
            f"post {post_id} has no text: fetch it again with the default tweet fields",
        )

    users = _index_users(post, includes)
    posts = _index_posts(post, includes)
    references = _references(post)
    defects: list[str] = []

    retweet_of = references.get("retweeted")
    mention_sources = [post]
    if retweet_of is not None:
        original = posts.get(retweet_of)
        original_text = full_text(original) if original else None
        if original_text is not None:
            text = original_text
            mention_sources.insert(0, original)  # type: ignore[arg-type]
        else:
            defects.append(
                f"retweeted post {retweet_of} not included: the text may be truncated"
            )
    text = unescape_text(text)

    author = users.get(str(post.get("author_id"))) or post.get("author") or {}
    username = author.get("username") if isinstance(author, dict) else None
    url = (
        f"https://x.com/{username}/status/{post_id}"
        if username
        else f"https://x.com/i/status/{post_id}"
    )
    return Story(
        source=raw.source,
        external_id=raw.external_id or post_id,
        kind="tweet",
        text=text,
        created_at=_created_at(post.get("created_at"), post_id, label, defects),
        author_name=author.get("name") if isinstance(author, dict) else None,
        author_handle=username,
        url=url,
        language=post.get("lang") or None,
        conversation_id=str(post["conversation_id"])
        if post.get("conversation_id")
        else None,
        in_reply_to=references.get("replied_to"),
        references=list(dict.fromkeys(references.values())),
        retweet_of=retweet_of,
        quoted=references.get("quoted"),
        mentions=_mentions(mention_sources, text, users),
        defects=defects,
    )


# TAGS archive sheets


def _tags_value(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return None if text in _TAGS_MISSING else text


def _tags_mentions(row: dict[str, Any]) -> dict[str, str]:
    """Read ``user_mentions`` (X API v1.1 entities) from the row's ``entities_str`` column."""
    entities_text = _tags_value(row, "entities_str")
    if not entities_text:
        return {}
    try:
        entities = json.loads(entities_text)
    except ValueError:
        return {}
    if not isinstance(entities, dict):
        return {}
    mentions: dict[str, str] = {}
    for mention in entities.get("user_mentions") or []:
        if (
            isinstance(mention, dict)
            and mention.get("screen_name")
            and mention.get("name")
        ):
            mentions[str(mention["screen_name"]).lower()] = str(mention["name"])
    return mentions


def _parse_tags_row(raw: RawItem, label: str, row: Any) -> Story:
    if not isinstance(row, dict):
        raise ItemError(
            label,
            "the TAGS row is not a mapping of column to value: import the sheet again",
        )
    post_id = _tags_value(row, "id_str") or raw.external_id
    text = _tags_value(row, "text")
    if not post_id or not post_id.isdigit():
        raise ItemError(
            label,
            f"invalid id_str {post_id!r} in the TAGS row: expected digits, "
            "so fix the sheet and import it again",
        )
    if text is None:
        raise ItemError(
            label,
            f"TAGS row for post {post_id} has no text: fix the sheet and import it again",
        )

    defects: list[str] = []
    # NOTE: the sheet's "time" column is ignored. TAGS writes it in the sheet's own
    # time zone with a "Z" suffix, so it can differ from created_at by hours.
    created_text = _tags_value(row, "created_at")
    created_at = None
    if created_text:
        try:
            created_at = datetime.strptime(created_text, _TAGS_TIME_FORMAT).astimezone(
                timezone.utc
            )
        except ValueError:
            defects.append(
                f"invalid created_at {created_text!r}: the time was taken from the post id"
            )
    else:
        defects.append("created_at missing: the time was taken from the post id")
    if created_at is None:
        created_at = snowflake_time(post_id)
    if created_at is None:
        raise ItemError(
            label,
            f"TAGS row for post {post_id} has no valid created_at: fix the sheet and import it again",
        )

    handle = _tags_value(row, "from_user")
    retweet = _RETWEET_PREFIX.match(text)
    url = (
        f"https://x.com/{handle}/status/{post_id}"
        if handle
        else f"https://x.com/i/status/{post_id}"
    )
    return Story(
        source=raw.source,
        external_id=raw.external_id or post_id,
        kind="tweet",
        text=unescape_text(text),
        created_at=created_at,
        author_name=None,
        author_handle=handle,
        url=url,
        # The sheet's user_lang is the account's interface language, not the post's.
        language=None,
        in_reply_to=_tags_value(row, "in_reply_to_status_id_str"),
        references=[
            value for value in [_tags_value(row, "in_reply_to_status_id_str")] if value
        ],
        retweet_of=UNKNOWN_ORIGINAL if retweet else None,
        mentions=_tags_mentions(row),
        defects=defects,
    )
