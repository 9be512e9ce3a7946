"""Feed writers for approved stories: JSON Feed 1.1, Atom (RFC 4287) and CSV, one item at a time.

Each writer streams: the file grows item by item, and no format keeps the whole feed
in memory. feedgen builds whole Atom documents in memory, so ``AtomWriter`` uses it
for the feed head and to render and check each entry, and writes the entries itself.
Stories taken back appear as deletions: a ``_harvester.deleted`` flag in JSON Feed,
an ``at:deleted-entry`` tombstone (RFC 6721) in Atom, and ``action=delete`` in CSV.
"""

from __future__ import annotations

import csv
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol, TextIO

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from harvester.errors import UsageError
from harvester.export.items import STORY_NAMESPACE, ExportItem, Tombstone, rfc3339

log = logging.getLogger(__name__)

FORMATS = ("jsonfeed", "atom", "csv")
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
TOMBSTONE_NAMESPACE = "http://purl.org/atompub/tombstones/1.0"
PEOPLE_SCHEME = "urn:harvester:people"
TRAINING_SCHEME = "urn:harvester:training"
CSV_COLUMNS = [
    "action",
    "id",
    "version",
    "title",
    "text",
    "author",
    "date_published",
    "date_modified",
    "url",
    "people",
    "training",
]
CSV_LIST_SEPARATOR = "; "


@dataclass(frozen=True)
class FeedInfo:
    """Feed-level metadata: title, description, links and update time."""

    title: str = "ConnectEDU stories"
    description: str = (
        "Teachers' stories of the people and training that inspired them."
    )
    home_page_url: str | None = None
    feed_url: str | None = None
    updated: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def id(self) -> str:
        return "urn:uuid:" + str(uuid.uuid5(STORY_NAMESPACE, "feed\n" + self.title))


class FeedWriter(Protocol):
    def begin(self) -> None: ...
    def write_item(self, item: ExportItem) -> None: ...
    def write_deletion(self, tombstone: Tombstone) -> None: ...
    def end(self) -> None: ...


class JsonFeedWriter:
    """JSON Feed 1.1: the head, then the ``items`` array written one element at a time."""

    def __init__(self, out: TextIO, info: FeedInfo) -> None:
        self.out = out
        self.info = info
        self._count = 0

    def begin(self) -> None:
        head: dict[str, object] = {
            "version": JSON_FEED_VERSION,
            "title": self.info.title,
        }
        if self.info.home_page_url:
            head["home_page_url"] = self.info.home_page_url
        if self.info.feed_url:
            head["feed_url"] = self.info.feed_url
        head["description"] = self.info.description
        text = json.dumps(head, ensure_ascii=False)
        self.out.write(text[:-1] + ', "items": [\n')

    def _write(self, element: dict[str, object]) -> None:
        if self._count:
            self.out.write(",\n")
        self.out.write(json.dumps(element, ensure_ascii=False))
        self._count += 1

    def write_item(self, item: ExportItem) -> None:
        element: dict[str, object] = {"id": item.id}
        if item.url:
            element["url"] = item.url
        element.update(
            {
                "title": item.title,
                "content_text": item.text,
                "date_published": rfc3339(item.date_published),
                "date_modified": rfc3339(item.date_modified),
                "authors": [{"name": item.author}],
                "tags": item.people + item.training,
                "_harvester": {
                    "version": item.version,
                    "people": item.people,
                    "training": item.training,
                },
            }
        )
        self._write(element)

    def write_deletion(self, tombstone: Tombstone) -> None:
        # JSON Feed 1.1 requires content_text or content_html on every item.
        self._write(
            {
                "id": tombstone.id,
                "content_text": "",
                "date_modified": rfc3339(tombstone.when),
                "_harvester": {"deleted": True},
            }
        )

    def end(self) -> None:
        self.out.write("\n]}\n")


class AtomWriter:
    """Atom: the head from feedgen, then each entry rendered by feedgen and written out."""

    def __init__(self, out: TextIO, info: FeedInfo) -> None:
        self.out = out
        self.info = info

    def begin(self) -> None:
        generator = FeedGenerator()
        generator.id(self.info.id)
        generator.title(self.info.title)
        generator.subtitle(self.info.description)
        generator.updated(self.info.updated)
        generator.language("en")
        if self.info.home_page_url:
            generator.link(href=self.info.home_page_url, rel="alternate")
        if self.info.feed_url:
            generator.link(href=self.info.feed_url, rel="self")
        document = generator.atom_str(pretty=False).decode("utf-8")
        head, _, _ = document.rpartition("</feed>")
        self.out.write(head + "\n")

    def write_item(self, item: ExportItem) -> None:
        entry = FeedEntry()
        entry.id(item.id)
        entry.title(item.title)
        entry.updated(item.date_modified)
        entry.published(item.date_published)
        entry.author({"name": item.author})
        entry.content(item.text, type="text")
        if item.url:
            entry.link(href=item.url, rel="alternate")
        categories = [{"term": name, "scheme": PEOPLE_SCHEME} for name in item.people]
        categories += [
            {"term": name, "scheme": TRAINING_SCHEME} for name in item.training
        ]
        if categories:
            entry.category(categories)
        # atom_entry raises ValueError when a required element is missing.
        element = entry.atom_entry()
        self.out.write(etree.tostring(element, encoding="unicode") + "\n")

    def write_deletion(self, tombstone: Tombstone) -> None:
        element = etree.Element(
            f"{{{TOMBSTONE_NAMESPACE}}}deleted-entry",
            nsmap={"at": TOMBSTONE_NAMESPACE},
            ref=tombstone.id,
            when=rfc3339(tombstone.when),
        )
        self.out.write(etree.tostring(element, encoding="unicode") + "\n")

    def end(self) -> None:
        self.out.write("</feed>\n")


class CsvWriter:
    """CSV with a header row; list columns are joined with "; "."""

    def __init__(self, out: TextIO, info: FeedInfo) -> None:
        # NOTE: text is written as curators left it. A cell starting with "=", "+", "-"
        # or "@" may run as a formula when the file is opened in a spreadsheet.
        self.writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")

    def begin(self) -> None:
        self.writer.writeheader()

    def write_item(self, item: ExportItem) -> None:
        self.writer.writerow(
            {
                "action": "upsert",
                "id": item.id,
                "version": item.version,
                "title": item.title,
                "text": item.text,
                "author": item.author,
                "date_published": rfc3339(item.date_published),
                "date_modified": rfc3339(item.date_modified),
                "url": item.url or "",
                "people": CSV_LIST_SEPARATOR.join(item.people),
                "training": CSV_LIST_SEPARATOR.join(item.training),
            }
        )

    def write_deletion(self, tombstone: Tombstone) -> None:
        row = dict.fromkeys(CSV_COLUMNS, "")
        row.update(
            {
                "action": "delete",
                "id": tombstone.id,
                "date_modified": rfc3339(tombstone.when),
            }
        )
        self.writer.writerow(row)

    def end(self) -> None:
        pass


WRITERS: dict[str, type[JsonFeedWriter] | type[AtomWriter] | type[CsvWriter]] = {
    "jsonfeed": JsonFeedWriter,
    "atom": AtomWriter,
    "csv": CsvWriter,
}


def open_writer(format: str, out: TextIO, info: FeedInfo) -> FeedWriter:
    try:
        writer_class = WRITERS[format]
    except KeyError:
        raise UsageError(
            f"unknown export format {format!r}: use one of {', '.join(FORMATS)}"
        ) from None
    return writer_class(out, info)
