"""People as entities: link person tags to ``people`` rows through ``person_aliases``.

An alias is normalized before matching: lowercase, whitespace collapsed, curly
apostrophes made straight, and a leading title (Mrs, Mr, Ms, Miss, Mx, Dr, Prof,
Sir, Dame) removed, so "Mrs Okonkwo" is stored as ``okonkwo``. An @handle keeps
its ``@`` so that it never collides with a name. A tag links to a person when:

1. its alias is already known;
2. it is an @mention whose display name is known (the handle is added as an alias);
3. it is a titled surname ("Mrs Okonkwo") and exactly one known full name, in the
   same story or in the store, ends with that surname;
4. it is a single first name ("Marcus") and a full name in the same story starts
   with it;
5. it is a full name ("Amara Okonkwo") and exactly one person is known only by
   that surname, from a titled mention. That person takes the full name.

A match is refused when the tag and the person were written with titles of
different genders ("Mrs" and "Mr"). A titled surname also gets an alias such as
``f:okonkwo``, so later mentions with the same title find that person first.

Otherwise a new person is created. Curators correct mistakes with
``merge_people`` and ``split_alias``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, joinedload

from harvester.errors import UsageError
from harvester.tagging.names import TITLES
from store.models import Person, PersonAlias, TagRow, alias_surname
from store.models import Story as StoryRow

log = logging.getLogger(__name__)

# Titles that tell a man from a woman, so "Mrs Okonkwo" is never linked to "Mr Julian Okonkwo".
TITLE_GENDERS = {"mr": "m", "sir": "m", "mrs": "f", "ms": "f", "miss": "f", "dame": "f"}
ALIAS_MAX_LENGTH = 300


def _words(text: str) -> list[str]:
    text = text.replace("’", "'").lower()
    return [word.strip('.,;:!?"()') for word in text.split() if word.strip('.,;:!?"()')]


def has_title(text: str) -> bool:
    """Tell whether a name starts with a title such as Mrs or Dr."""
    words = _words(text)
    return len(words) > 1 and words[0] in TITLES


@lru_cache(maxsize=65536)
def normalize_person_alias(text: str) -> str:
    """Return the form of a name or @handle that aliases are matched by (module docstring)."""
    words = _words(text)
    while len(words) > 1 and words[0] in TITLES:
        words = words[1:]
    return " ".join(words)[:ALIAS_MAX_LENGTH]


@lru_cache(maxsize=65536)
def title_gender(text: str) -> str | None:
    """Return "m" or "f" when a name starts with a gendered title, else None."""
    words = _words(text)
    if len(words) < 2:
        return None
    return TITLE_GENDERS.get(words[0].rstrip("."))


def display_name(written: str) -> str:
    """Return a name for the people table: a title goes when a full name follows it.

    "Mr Leon Grant" becomes "Leon Grant", while "Mrs Okonkwo" keeps its title.
    """
    words = written.split()
    if len(words) > 2 and words[0].lower().rstrip(".") in TITLES:
        words = words[1:]
    return " ".join(words)


class _Linker:
    def __init__(self, session: Session) -> None:
        self.session = session
        # Aliases looked up or added in this transaction: most tags repeat a few names.
        self.known: dict[str, Person | None] = {}
        # Title genders each person was written with in this transaction, by object id.
        self.genders: dict[int, set[str]] = {}
        # Tag texts of people stored earlier, for the gender check, by person id.
        self.stored_texts: dict[int, list[str]] = {}
        # People given a full-name alias in this transaction, by surname. The linker runs
        # without autoflush, so the database does not see these aliases until the end.
        self.added_surnames: dict[str, list[Person]] = {}
        # Aliases to insert once the new people have ids, and the same by person object id.
        self.new_aliases: list[tuple[Person, str]] = []
        self.added_aliases: dict[int, list[str]] = {}

    def person_of(self, alias: str) -> Person | None:
        if alias not in self.known:
            row = self.session.scalar(
                select(PersonAlias)
                .options(joinedload(PersonAlias.person).selectinload(Person.aliases))
                .where(PersonAlias.alias == alias)
            )
            self.known[alias] = row.person if row is not None else None
        return self.known[alias]

    def add_alias(self, person: Person, alias: str) -> None:
        if alias and self.person_of(alias) is None:
            self.new_aliases.append((person, alias))
            self.added_aliases.setdefault(id(person), []).append(alias)
            self.known[alias] = person
            surname = alias_surname(alias)
            if surname:
                self.added_surnames.setdefault(surname, []).append(person)

    def people_with_surname(self, surname: str) -> dict[object, Person | None]:
        """Return the people with a full-name alias ending in ``surname``, keyed by id.

        The value is the person when it is loaded, and None when only its stored id is
        known. A person created in this transaction has no id yet and is keyed by
        ``("new", object id)``.
        """
        found: dict[object, Person | None] = dict.fromkeys(
            self.session.scalars(select(PersonAlias.person_id).where(PersonAlias.surname == surname))
        )
        for person in self.added_surnames.get(surname, []):
            found[person.id if person.id is not None else ("new", id(person))] = person
        return found

    def preload(self, tags: Iterable[TagRow]) -> None:
        """Look up the aliases ``tags`` may need in one query instead of one per tag."""
        needed: set[str] = set()
        for tag in tags:
            written = tag.name or tag.text
            alias = normalize_person_alias(written)
            needed.update({alias, tag.text.lower(), alias.rsplit(" ", 1)[-1]})
            gender = title_gender(written)
            if gender:
                needed.add(f"{gender}:{alias}")
        needed = {alias for alias in needed if alias and alias not in self.known}
        aliases = sorted(needed)
        for start in range(0, len(aliases), 500):
            chunk = aliases[start : start + 500]
            rows = self.session.scalars(
                select(PersonAlias)
                .options(joinedload(PersonAlias.person).selectinload(Person.aliases))
                .where(PersonAlias.alias.in_(chunk))
            )
            for row in rows:
                self.known[row.alias] = row.person
        for alias in needed:
            self.known.setdefault(alias, None)

    def insert_aliases(self) -> None:
        """Insert the new aliases in one statement. Call it after a flush has given new people ids."""
        if not self.new_aliases:
            return
        self.session.execute(
            insert(PersonAlias.__table__),
            [{"person_id": person.id, "alias": alias} for person, alias in self.new_aliases],
        )
        for person in {id(person): person for person, _ in self.new_aliases}.values():
            self.session.expire(person, ["aliases"])
        self.new_aliases = []

    def create(self, name: str, handle: str | None = None) -> Person:
        # The caller flushes once for the batch, which gives new people their ids.
        person = Person(name=name, handle=handle)
        self.session.add(person)
        return person

    def link(self, tag: TagRow, story_people: dict[str, Person]) -> Person | None:
        if tag.method == "mention" and tag.text.startswith("@"):
            return self._link_mention(tag)

        written = tag.name or tag.text
        alias = normalize_person_alias(written)
        if not alias:
            return None

        gender = title_gender(written)
        # A titled surname alone also gets an alias with the title's gender, so Mrs and
        # Mr of the same surname stay two people.
        gendered = f"{gender}:{alias}" if gender and " " not in alias else None
        person = self.person_of(gendered) if gendered else None
        if person is None:
            person = (
                self.person_of(alias)
                or self._match_in_story(written, alias, story_people)
                or self._match_surname(written, alias)
            )
            if person is not None and self._other_gender(person, gender):
                person = None

        if person is None:
            person = self.create(
                display_name(written),
                handle=alias[1:] if alias.startswith("@") else None,
            )

        self.add_alias(person, alias)
        if gendered:
            self.add_alias(person, gendered)
        if gender:
            self.genders.setdefault(id(person), set()).add(gender)
        return person

    def _other_gender(self, person: Person, gender: str | None) -> bool:
        """Tell whether ``person`` was written with a title of the other gender."""
        if gender is None:
            return False
        if self.genders.get(id(person), set()) - {gender}:
            return True
        if person.id is None:
            return False
        if person.id not in self.stored_texts:
            self.stored_texts[person.id] = list(
                self.session.scalars(select(TagRow.text).where(TagRow.person_id == person.id))
            )
        return any(title_gender(text) not in (None, gender) for text in self.stored_texts[person.id])

    def _link_mention(self, tag: TagRow) -> Person:
        handle_alias = tag.text.lower()
        display = tag.name or tag.text
        name_alias = normalize_person_alias(display)
        person = self.person_of(handle_alias) or self.person_of(name_alias)
        if person is None:
            person = self.create(display, handle=tag.text[1:])
        elif person.handle is None:
            person.handle = tag.text[1:]
        self.add_alias(person, handle_alias)
        self.add_alias(person, name_alias)
        return person

    def _match_in_story(
        self, written: str, alias: str, story_people: dict[str, Person]
    ) -> Person | None:
        words = alias.split()
        if len(words) != 1 or alias.startswith("@"):
            return None
        position = -1 if has_title(written) else 0
        matches = {
            id(p): p
            for full, p in story_people.items()
            if len(full.split()) > 1 and full.split()[position] == alias
        }
        return next(iter(matches.values())) if len(matches) == 1 else None

    def _match_surname(self, written: str, alias: str) -> Person | None:
        words = alias.split()
        if alias.startswith("@"):
            return None
        if len(words) == 1 and has_title(written):
            candidates = self.people_with_surname(alias)
            if len(candidates) != 1:
                return None
            key, person = candidates.popitem()
            return person or self.session.get(Person, key)
        if len(words) > 1:
            # A person known only by a titled surname takes this full name.
            person = self.person_of(words[-1])
            names = (
                [
                    alias
                    for alias in [row.alias for row in person.aliases] + self.added_aliases.get(id(person), [])
                    if not alias.startswith("@")
                ]
                if person
                else []
            )
            if (
                person
                and all(" " not in name for name in names)
                and not self.people_with_surname(words[-1])
            ):
                person.name = display_name(written)
                return person
        return None


def link_people(session: Session, stories: StoryRow | Iterable[StoryRow]) -> int:
    """Link the person tags of ``stories`` to people rows; return how many tags were linked.

    Tags that already have a person keep it. Call inside a write transaction. The
    stories may be stored already, or not yet added to the session, as the harvest
    does so that their tags are inserted with their person ids.
    """
    linker = _Linker(session)
    linked = 0
    stories = [stories] if isinstance(stories, StoryRow) else list(stories)
    links: list[tuple[TagRow, Person]] = []
    # The new people are flushed once at the end, then their aliases go in one statement.
    with session.no_autoflush:
        linker.preload(tag for story in stories for tag in story.tags if tag.kind == "person" and tag.person_id is None)
        for story in stories:
            linked_before = linked
            story_people: dict[str, Person] = {}
            # Full names first, so "Mrs Okonkwo" or "Marcus" later in the story find them.
            person_tags = [tag for tag in story.tags if tag.kind == "person"]
            person_tags.sort(
                key=lambda tag: (
                    len(normalize_person_alias(tag.name or tag.text).split()) < 2,
                    tag.start,
                )
            )
            for tag in person_tags:
                if tag.person_id is not None:
                    continue
                person = linker.link(tag, story_people)
                if person is None:
                    continue
                links.append((tag, person))
                story_people[normalize_person_alias(tag.name or tag.text)] = person
                linked += 1
            log.debug("story %s: linked %d person tags", story.id, linked - linked_before)
    session.flush()
    linker.insert_aliases()
    for tag, person in links:
        tag.person_id = person.id
    return linked


def merge_people(session: Session, keep_id: int, other_id: int) -> Person:
    """Move the aliases and tags of person ``other_id`` to ``keep_id`` and delete it."""
    if keep_id == other_id:
        raise UsageError(f"cannot merge person {keep_id} with itself")
    keep = session.get(Person, keep_id)
    other = session.get(Person, other_id)
    if keep is None:
        raise UsageError(
            f"person {keep_id} not found; check the id of the person to keep"
        )
    if other is None:
        raise UsageError(
            f"person {other_id} not found; check the id of the person to merge"
        )
    session.execute(
        update(PersonAlias)
        .where(PersonAlias.person_id == other_id)
        .values(person_id=keep_id)
    )
    session.execute(
        update(TagRow).where(TagRow.person_id == other_id).values(person_id=keep_id)
    )
    if keep.handle is None:
        keep.handle = other.handle
    session.expire(keep, ["aliases"])
    session.expire(other, ["aliases"])
    session.delete(other)
    session.flush()
    log.info("merged person %d into person %d", other_id, keep_id)
    return keep


def split_alias(session: Session, alias: str) -> int:
    """Move ``alias`` and the tags written that way to a new person; return its id."""
    normalized = normalize_person_alias(alias)
    row = session.scalar(select(PersonAlias).where(PersonAlias.alias == normalized))
    if row is None:
        raise UsageError(
            f"person alias {alias!r} not found (matched as {normalized!r})"
        )
    old = row.person
    if len(old.aliases) == 1:
        raise UsageError(
            f"{alias!r} is the only alias of person {old.id}; there is nothing to split from it"
        )

    tags = [
        tag
        for tag in session.scalars(select(TagRow).where(TagRow.person_id == old.id))
        if normalized
        in (normalize_person_alias(tag.text), normalize_person_alias(tag.name or ""))
    ]
    name = tags[0].name or tags[0].text if tags else alias
    new = Person(
        name=" ".join(name.split()),
        handle=normalized[1:] if normalized.startswith("@") else None,
    )
    session.add(new)
    session.flush()
    row.person_id = new.id
    for tag in tags:
        tag.person_id = new.id
    if old.handle and new.handle and old.handle.lower() == new.handle:
        old.handle = None
    session.expire(old, ["aliases"])
    session.flush()
    log.info("split alias %r from person %d into person %d", normalized, old.id, new.id)
    return new.id
