"""parse_message on hand-written mail: charsets, dates, HTML, forwards, quotes, signatures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from harvester.errors import ItemError
from harvester.parse import parse_item
from harvester.parse.mail import parse_message
from harvester.records import RawItem

FETCHED = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
RECEIVED = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)


def raw_item(payload: bytes, received_at: datetime | None = RECEIVED) -> RawItem:
    return RawItem(
        "inbox",
        "email",
        "mid:test@example.org",
        payload,
        FETCHED,
        origin="INBOX uid 7",
        received_at=received_at,
    )


def mail(headers: str, body: bytes | str) -> bytes:
    body_bytes = body.encode() if isinstance(body, str) else body
    return headers.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + body_bytes


PLAIN_HEADERS = """
From: "Amara Okafor" <Amara.Okafor@school.example.org>
To: stories@connectedu.example.org
Subject: The teacher who changed my mind about science
Date: Tue, 04 Mar 2025 09:15:00 +0100
Message-ID: <abc@school.example.org>
In-Reply-To: <prompt-1@connectedu.example.org>
References: <prompt-0@connectedu.example.org> <prompt-1@connectedu.example.org>
Content-Type: text/plain; charset=utf-8
"""


def test_plain_mail_fields() -> None:
    story = parse_message(
        raw_item(mail(PLAIN_HEADERS, "Mrs Okonkwo made chemistry feel like cooking.\n"))
    )

    assert story.kind == "email"
    assert story.external_id == "mid:test@example.org"
    assert story.author_name == "Amara Okafor"
    assert story.author_email == "amara.okafor@school.example.org"
    assert story.subject == "The teacher who changed my mind about science"
    assert story.text == "Mrs Okonkwo made chemistry feel like cooking."
    assert story.created_at == datetime(2025, 3, 4, 8, 15, tzinfo=UTC)
    assert story.in_reply_to == "prompt-1@connectedu.example.org"
    assert story.references == [
        "prompt-0@connectedu.example.org",
        "prompt-1@connectedu.example.org",
    ]
    assert story.content_type == "text/plain"
    assert story.auto_headers == {"Content-Type": "text/plain"}
    assert story.defects == []


def test_parse_item_dispatches_email() -> None:
    story = parse_item(raw_item(mail(PLAIN_HEADERS, "Hello from Leeds.\n")))

    assert story.text == "Hello from Leeds."


def test_unknown_charset_falls_back() -> None:
    headers = PLAIN_HEADERS.replace("charset=utf-8", "charset=x-made-up-charset")
    story = parse_message(
        raw_item(mail(headers, "Mr Dvořák ran the NPQH cohort.\n".encode()))
    )

    assert story.text == "Mr Dvořák ran the NPQH cohort."
    assert "text/plain part: unknown charset 'x-made-up-charset'" in story.defects


def test_wrong_charset_falls_back() -> None:
    headers = PLAIN_HEADERS.replace("charset=utf-8", "charset=us-ascii")
    story = parse_message(
        raw_item(
            mail(
                headers,
                "Ms Núñez mentored me through the Early Career Framework.\n".encode(),
            )
        )
    )

    assert story.text == "Ms Núñez mentored me through the Early Career Framework."
    assert "text/plain part: text is not valid us-ascii" in story.defects
    assert "text/plain part: decoded as utf-8" in story.defects


def test_latin1_bytes_declared_utf8() -> None:
    body = "Mrs Okonkwo's café club taught me patience, and I owe her my career in teaching.\n"
    story = parse_message(raw_item(mail(PLAIN_HEADERS, body.encode("cp1252"))))

    assert story.text.startswith("Mrs Okonkwo's caf")
    assert story.text.endswith("career in teaching.")
    assert "text/plain part: text is not valid utf-8" in story.defects


def test_missing_date_uses_internaldate() -> None:
    headers = "\n".join(
        line for line in PLAIN_HEADERS.splitlines() if not line.startswith("Date:")
    )
    story = parse_message(raw_item(mail(headers, "Hello.\n")))

    assert story.created_at == RECEIVED
    assert "missing or invalid Date header; used the INTERNALDATE" in story.defects


def test_invalid_date_without_internaldate_uses_fetch_time() -> None:
    headers = PLAIN_HEADERS.replace(
        "Tue, 04 Mar 2025 09:15:00 +0100", "sometime last spring"
    )
    story = parse_message(raw_item(mail(headers, "Hello.\n"), received_at=None))

    assert story.created_at == FETCHED
    assert story.created_at.tzinfo is not None
    assert "missing or invalid Date header; used the fetch time" in story.defects


def test_naive_date_is_utc() -> None:
    headers = PLAIN_HEADERS.replace("+0100", "-0000")
    story = parse_message(raw_item(mail(headers, "Hello.\n")))

    assert story.created_at == datetime(2025, 3, 4, 9, 15, tzinfo=UTC)


HTML_HEADERS = PLAIN_HEADERS.replace("text/plain", "text/html")
HTML_BODY = """<html><head><style>p {color: red}</style><script>alert('x')</script></head>
<body><p>When I was eleven, <b>Mr Haddad</b> stayed after school every Thursday.</p>
<p>He is the reason I started my <a href="https://example.org/npqh">NPQH</a>.</p>
<img src="https://tracker.example.com/pixel.gif" onerror="steal()"></body></html>"""


def test_html_only_mail_becomes_text() -> None:
    story = parse_message(raw_item(mail(HTML_HEADERS, HTML_BODY)))

    assert (
        "When I was eleven, Mr Haddad stayed after school every Thursday." in story.text
    )
    assert "He is the reason I started my NPQH." in story.text
    assert "<" not in story.text
    assert "alert" not in story.text
    assert "color: red" not in story.text


def test_html_only_mail_keeps_sanitized_html() -> None:
    story = parse_message(raw_item(mail(HTML_HEADERS, HTML_BODY)))

    assert story.html is not None
    assert "<b>Mr Haddad</b>" in story.html
    assert "<script" not in story.html
    assert "onerror" not in story.html
    assert "<img" not in story.html
    assert "tracker.example.com" not in story.html


FORWARD = """From: Office Manager <office@school.example.org>
To: stories@connectedu.example.org
Subject: Fwd: My story for ConnectEDU
Date: Wed, 05 Mar 2025 10:00:00 +0000
Message-ID: <fwd-1@school.example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=utf-8

Passing this on from one of our teaching assistants.

--outer
Content-Type: message/rfc822

From: Priya Shah <priya.shah@example.net>
Subject: My story for ConnectEDU
Date: Mon, 03 Mar 2025 18:45:00 +0000
Message-ID: <orig-1@example.net>
Content-Type: text/plain; charset=utf-8

Mrs Okonkwo believed in me when I failed my first observation.

--outer--
"""


def test_forwarded_rfc822_uses_original_author() -> None:
    story = parse_message(raw_item(FORWARD.replace("\n", "\r\n").encode()))

    assert story.author_name == "Priya Shah"
    assert story.author_email == "priya.shah@example.net"
    assert story.subject == "My story for ConnectEDU"
    assert (
        story.text == "Mrs Okonkwo believed in me when I failed my first observation."
    )
    assert story.created_at == datetime(2025, 3, 3, 18, 45, tzinfo=UTC)
    assert story.content_type == "multipart/mixed"


INLINE_FORWARD_BODY = """FYI, a lovely one.

---------- Forwarded message ---------
From: Tom Baker <tom.baker@example.net>
Date: Mon, 03 Mar 2025 18:45:00 +0000
Subject: Who inspired me
To: Office <office@school.example.org>

My PE teacher Ms Adeyemi got me through my Early Career Framework year.
"""


def test_inline_forward_block_is_opened() -> None:
    headers = PLAIN_HEADERS.replace(
        "Subject: The teacher who changed my mind about science",
        "Subject: Fwd: Who inspired me",
    )
    story = parse_message(raw_item(mail(headers, INLINE_FORWARD_BODY)))

    assert story.author_name == "Tom Baker"
    assert story.author_email == "tom.baker@example.net"
    assert story.subject == "Who inspired me"
    assert (
        story.text
        == "My PE teacher Ms Adeyemi got me through my Early Career Framework year."
    )


QUOTED_REPLY_BODY = """Happy to share! Mr Lindqvist taught me to plan lessons backwards from the question.

Best wishes,

--
Jo Murphy
Head of Year 9, Hillside Academy
Tel 0113 496 0000

On Mon, 3 Mar 2025 at 09:00, ConnectEDU <stories@connectedu.example.org> wrote:
> Who inspired you to teach? Reply to this email with your story.
> Thanks, the ConnectEDU team
"""


def test_quoted_reply_is_cut() -> None:
    story = parse_message(raw_item(mail(PLAIN_HEADERS, QUOTED_REPLY_BODY)))

    assert "Who inspired you to teach?" not in story.text
    assert "wrote:" not in story.text
    assert story.text.startswith("Happy to share! Mr Lindqvist taught me")


def test_signature_is_cut() -> None:
    story = parse_message(raw_item(mail(PLAIN_HEADERS, QUOTED_REPLY_BODY)))

    assert "Jo Murphy" not in story.text
    assert "Tel 0113" not in story.text


def test_bottom_posted_reply_is_cut() -> None:
    body = "On 03/03/2025 09:00, ConnectEDU wrote:\n> Who inspired you?\n\nMy maths teacher, Mrs Okonkwo.\n"
    story = parse_message(raw_item(mail(PLAIN_HEADERS, body)))

    assert story.text == "My maths teacher, Mrs Okonkwo."


def test_mobile_signature_is_cut() -> None:
    story = parse_message(
        raw_item(
            mail(PLAIN_HEADERS, "Mr Patel, every single day.\n\nSent from my iPhone\n")
        )
    )

    assert story.text == "Mr Patel, every single day."


def test_automation_headers_are_collected() -> None:
    headers = (
        PLAIN_HEADERS
        + "Auto-Submitted: auto-replied\nPrecedence: bulk\nReturn-Path: <>\nX-Autoreply: yes\n"
    )
    story = parse_message(raw_item(mail(headers, "I am away.\n")))

    assert story.auto_headers["Auto-Submitted"] == "auto-replied"
    assert story.auto_headers["Precedence"] == "bulk"
    assert story.auto_headers["Return-Path"] == "<>"
    assert story.auto_headers["X-Autoreply"] == "yes"


def test_unparsable_address_header_is_read_raw() -> None:
    headers = PLAIN_HEADERS.replace(
        '"Amara Okafor" <Amara.Okafor@school.example.org>', "Amara Okafor"
    )
    story = parse_message(raw_item(mail(headers, "Hello.\n")))

    assert story.author_name == "Amara Okafor"
    assert story.author_email is None


@pytest.mark.parametrize("payload", [b"", b"   \r\n  "])
def test_empty_message_raises_item_error(payload: bytes) -> None:
    with pytest.raises(ItemError, match="INBOX uid 7: the message is empty"):
        parse_message(raw_item(payload))


def test_message_without_body_has_empty_text() -> None:
    story = parse_message(raw_item(mail(PLAIN_HEADERS, "")))

    assert story.text == ""
    assert story.subject == "The teacher who changed my mind about science"


EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "inbox"


@pytest.mark.parametrize(
    ("name", "author", "fragment"),
    [
        ("01-mrs-okonkwo.eml", "Hannah Whitfield", "Mrs Okonkwo noticed"),
        ("02-html-only.eml", "David Mensah", "completed my NPQH"),
        ("03-forwarded.eml", "Priya Shah", "Early Career Framework year"),
        ("04-reply-with-signature.eml", "Jo Murphy", "Mr Lindqvist taught me history"),
        ("06-latin1.eml", "Renée Dubois", "Madame Françoise"),
        ("07-no-date.eml", "Tom Baker", "Ms Adeyemi never let anyone sit out"),
    ],
)
def test_example_inbox_stories(name: str, author: str, fragment: str) -> None:
    payload = (EXAMPLES / name).read_bytes()
    story = parse_message(raw_item(payload))

    assert story.author_name == author
    assert fragment in story.text
    assert "wrote:" not in story.text
    assert "Head of History" not in story.text


# Reply headers of several clients and languages, quoted, folded into one line, and
# the Danish Outlook separator in the middle of a line.
REPLY_HEADER_LINES = [
    "On Mon, 2 Jun 2025 at 10:04, Ruth Adeyemi <ruth@example.org> wrote:",
    "> On Tue, 3 Jun 2025, Sam wrote:",
    "Am 3. Juni 2025 um 09:00 schrieb Hans Meier <hans@example.org>:",
    "Le 3 juin 2025, Jean Dupont a écrit :",
    "El lun, 2 jun 2025, Ana escribió:",
    "Den 3 jun 2025 skrev Bo <bo@example.org>:",
    "Dnia 3 czerwca, Jan napisał(a):",
    "From: Ruth Adeyemi",
    "Sent: Monday, 2 June 2025 10:04",
    "To: stories@example.org",
    "Subject: RE: your story",
    "* From: *someone",
    "Von: Hans",
    "Betreff: Antwort",
    "De : Jean",
    "Envoyé : lundi",
    "notes -----Oprindelig meddelelse-----",
    "-----ORIGINAL MESSAGE-----",
    "-----Original Message-----",
    "Fra: Bo",
    "Til: Ib",
    "Mrs Okonkwo made chemistry feel like cooking.",
    "",
    "> > quoted twice",
]


def test_reply_header_scan_equals_full_scan() -> None:
    import random

    from harvester.parse.mail_text import LineStartPattern, cut_quotes, _ReplyMessage

    cut_quotes("warm the shared patterns")
    assert _ReplyMessage._shared is not None
    scan = _ReplyMessage._shared[0]
    assert isinstance(scan, LineStartPattern)
    chooser = random.Random(7)
    texts_with_headers = 0
    for _ in range(3000):
        separator = chooser.choice(["\n", "\n", "\n> ", "\n\n", " "])
        lines = [chooser.choice(REPLY_HEADER_LINES) for _ in range(chooser.randint(1, 10))]
        text = separator.join(lines)
        expected = scan.pattern.findall(text)
        assert scan.findall(text) == expected, repr(text)
        texts_with_headers += bool(expected)
    # The texts must exercise the header alternatives, not only plain lines.
    assert texts_with_headers > 1000


@pytest.mark.parametrize(
    ("header", "fast"),
    [
        ("Amara Okafor <Amara.Okafor@school.example.org>", True),
        ("  amara.okafor@school.example.org ", True),
        ("<amara@school.example.org>", True),
        ("Mary-Jane O'Neil <mj@school.example.org>", True),
        ("Amara   Okafor\t<amara@school.example.org>", True),
        ('"Okafor, Amara" <amara@school.example.org>', False),
        ("amara@school.example.org (Amara Okafor)", False),
        ("=?utf-8?q?Amara_Ok=C3=A1for?= <amara@school.example.org>", False),
        ("A. Okafor <amara@school.example.org>", False),
        ("Amara Okafor", False),
        ("Amara Okafor <amara..okafor@school.example.org>", False),
        ("Amara <amara@school.example.org>, Ruth <ruth@school.example.org>", False),
    ],
)
def test_author_fast_path_equals_full_parser(header: str, fast: bool) -> None:
    from email.parser import BytesParser

    from harvester.parse.mail import MAIL_POLICY, _header_text, _parse_address, _simple_address

    payload = mail(f"From: {header}\nSubject: hi", "A story.\n")
    story = parse_message(raw_item(payload))

    full_value = _header_text(BytesParser(policy=MAIL_POLICY).parsebytes(payload), "From", [])
    assert full_value is not None
    assert (story.author_name, story.author_email) == _parse_address(full_value)
    assert (_simple_address(header) is not None) == fast
