"""Tests of the tagger (gazetteer, mentions, offsets) and of people linking in the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc
from sqlalchemy import func, select

from harvester.config import config_from_dict
from harvester.errors import ConfigError, UsageError
from harvester.records import Tag
from harvester.tagging import (
    Tagger,
    link_people,
    link_training,
    merge_people,
    split_alias,
)
from harvester.tagging.gazetteer import Gazetteer, read_gazetteer
from harvester.tagging.names import NameLists
from harvester.tagging.people import display_name, normalize_person_alias
from harvester.tagging.tagger import clean_person_span
from harvester.tagging.text import normalize
from harvester.tagging.training import add_training_alias
from store.db import Database
from store.models import Person, PersonAlias, TagRow, Training
from store.models import Story as StoryRow


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.from_config(config_from_dict({"nlp": {"ner_model": "stock"}}))


def tags_of(
    tagger: Tagger, text: str, mentions: dict[str, str] | None = None
) -> list[Tag]:
    tags = tagger.tag_texts([text], [mentions or {}])[0]
    for tag in tags:
        assert text[tag.start : tag.end] == tag.text, (
            f"offsets of {tag} do not match the text"
        )
    return tags


def training_of(tags: list[Tag]) -> list[tuple[str, str | None]]:
    return [(tag.text, tag.name) for tag in tags if tag.kind == "training"]


def people_of(tags: list[Tag]) -> list[str]:
    return [tag.text for tag in tags if tag.kind == "person"]


HEADSHIP = "National Professional Qualification for Headship"


def test_gazetteer_matches_any_case(tagger: Tagger) -> None:
    for written in (
        "NPQH",
        "npqh",
        "Npqh",
        "national professional qualification for headship",
    ):
        tags = tags_of(tagger, f"I finished my {written} this week")
        assert training_of(tags) == [(written, HEADSHIP)]


def test_gazetteer_matches_inside_hashtags(tagger: Tagger) -> None:
    tags = tags_of(
        tagger, "Results day! #NPQH #EarlyCareerFramework #npqsljourney #ConnectED"
    )
    assert training_of(tags) == [
        ("NPQH", HEADSHIP),
        ("EarlyCareerFramework", "Early Career Framework"),
        ("npqsl", "National Professional Qualification for Senior Leadership"),
    ]


def test_gazetteer_fuzzy_misspelling(tagger: Tagger) -> None:
    tags = tags_of(
        tagger,
        "Coaching from Ambition Insitute and the Natonal Professional Qualification for Headship",
    )
    assert training_of(tags) == [
        ("Ambition Insitute", "Ambition Institute"),
        ("Natonal Professional Qualification for Headship", HEADSHIP),
    ]


def test_gazetteer_fuzzy_leaves_short_words() -> None:
    tagger_without = Tagger.from_config(config_from_dict({"nlp": {"fuzzy": False}}))
    tags = tags_of(tagger_without, "Coaching from Ambition Insitute")
    assert training_of(tags) == []


def test_cased_alias_needs_its_case(tagger: Tagger) -> None:
    assert training_of(tags_of(tagger, "I teach first graders in Leeds")) == []
    assert training_of(tags_of(tagger, "I trained with Teach First in 2015")) == [
        ("Teach First", "Teach First")
    ]


def test_ect_role_is_not_training(tagger: Tagger) -> None:
    assert training_of(tags_of(tagger, "My ECT taught a brilliant lesson today")) == []


def test_mention_resolved_to_display_name(tagger: Tagger) -> None:
    text = "Thank you @Amara_Teaches for everything 🙏 #ConnectED"
    tags = tags_of(tagger, text, {"amara_teaches": "Amara Okonkwo"})
    mention = [tag for tag in tags if tag.method == "mention"]
    assert len(mention) == 1
    assert mention[0].kind == "person"
    assert mention[0].text == "@Amara_Teaches"
    assert mention[0].name == "Amara Okonkwo"
    assert mention[0].start == text.index("@")


def test_mention_of_organisation_is_training(tagger: Tagger) -> None:
    tags = tags_of(
        tagger, "Loved the course from @TF_provider", {"TF_provider": "Teach First"}
    )
    assert people_of(tags) == []
    assert training_of(tags) == [("@TF_provider", "Teach First")]


def test_unresolved_mention_is_not_a_mention_tag(tagger: Tagger) -> None:
    tags = tags_of(tagger, "Thanks @someone for the help")
    assert [tag for tag in tags if tag.method == "mention"] == []


def test_story_tags_use_story_mentions(tagger: Tagger) -> None:
    from harvester.records import Story

    story = Story(
        source="x",
        external_id="1",
        kind="tweet",
        text="@benhall_edu read to us every Friday",
        created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        mentions={"benhall_edu": "Ben Hall"},
    )
    [tags] = tagger.tag([story])
    assert [(tag.text, tag.name, tag.method) for tag in tags] == [
        ("@benhall_edu", "Ben Hall", "mention")
    ]


def test_titled_names_in_any_case(tagger: Tagger) -> None:
    assert "mrs okonkwo" in people_of(
        tags_of(tagger, "shoutout to mrs okonkwo who made maths make sense")
    )
    assert "Mr Patel" in people_of(
        tags_of(tagger, "Just passed, and I owe it to Mr Patel who pushed me")
    )
    assert "Professor Helen Brooks" in people_of(
        tags_of(tagger, "I wanted to mention Professor Helen Brooks, who shaped me.")
    )


def test_signed_name_after_sign_off(tagger: Tagger) -> None:
    text = "Dear team,\n\nPlease feature our librarian.\n\nKind regards,\nNicola Grant"
    assert people_of(tags_of(tagger, text)) == ["Nicola Grant"]


def test_campaign_hashtag_is_not_a_person(tagger: Tagger) -> None:
    tags = tags_of(
        tagger,
        "Ambition Insitute coaching has been a game changer for our staff #ConnectED",
    )
    assert people_of(tags) == []


def test_person_hashtag_keeps_sign(tagger: Tagger) -> None:
    tags = tags_of(tagger, "Happy retirement #MrsHolloway, we will miss you")
    assert people_of(tags) == ["#MrsHolloway"]


def test_training_name_is_not_a_person(tagger: Tagger) -> None:
    tags = tags_of(tagger, "Teach First changed my life")
    assert people_of(tags) == []
    assert training_of(tags) == [("Teach First", "Teach First")]


OFFSET_CASES = [
    "RT @bob: Thanks Mrs Okonkwo🙏 #NPQH https://t.co/abc123 done❤️ok",
    "Huge thanks to Sarah Lewis!! 😍😍 #ECF mentor of the year www.example.org/x",
    "Dear team,\n\nMr David Patel encouraged me to apply for the NPQSL.\n\nBest wishes,\nMichael Turner",
    "  leading spaces and Dr. Hannah Moore’s seminars at UCL Institute of Education",
]


@pytest.mark.parametrize("text", OFFSET_CASES)
def test_offsets_match_original_text(tagger: Tagger, text: str) -> None:
    tags = tags_of(tagger, text)
    assert tags, "expected at least one tag"
    for tag in tags:
        assert text[tag.start : tag.end] == tag.text


def test_person_span_cleaning() -> None:
    text = "mail ann@gmail.com, thank @bob_ and Mrs Okonkwo’s class !!"
    assert clean_person_span(text, text.index("gmail"), text.index("gmail") + 5) is None
    assert clean_person_span(text, len(text) - 2, len(text)) is None
    bob = text.index("bob")
    assert clean_person_span(text, bob, bob + 3) == (bob - 1, bob + 4)
    okonkwo = text.index("Okonkwo")
    assert clean_person_span(text, okonkwo, okonkwo + 9) == (okonkwo - 4, okonkwo + 7)


def test_normalize_maps_back_to_original() -> None:
    text = "RT @bob: go #EarlyCareerFramework now🙂 https://t.co/x yes"
    rewrite = normalize(text)
    assert rewrite.text == "@bob: go Early Career Framework now 🙂  yes"
    start = rewrite.text.index("Career")
    assert text[slice(*rewrite.to_original(start, start + len("Career")))] == "Career"
    start = rewrite.text.index("yes")
    assert rewrite.to_original(start, start + 3) == (len(text) - 3, len(text))
    # The name lists find hashtags in the rewrite by bisecting these offsets.
    assert list(rewrite.origin) == sorted(rewrite.origin)


def test_config_training_entries_extend_gazetteer() -> None:
    config = config_from_dict(
        {
            "nlp": {
                "training": [{"name": "Maths Hub Mastery", "aliases": ["TRG mastery"]}]
            }
        }
    )
    tagger = Tagger(
        Tagger.from_config(config_from_dict({})).nlp, Gazetteer.from_config(config)
    )
    tags = tags_of(tagger, "Our TRG Mastery group met today, then NPQH reading")
    assert training_of(tags) == [
        ("TRG Mastery", "Maths Hub Mastery"),
        ("NPQH", HEADSHIP),
    ]


def test_gazetteer_file_handles(tmp_path: Path) -> None:
    path = tmp_path / "training.yaml"
    path.write_text(
        "training:\n  - name: Teach Together\n    kind: provider\n    handles: [TT_org]\n",
        encoding="utf-8",
    )
    config = config_from_dict({"nlp": {"gazetteer": str(path)}})
    tagger = Tagger(
        Tagger.from_config(config_from_dict({})).nlp, Gazetteer.from_config(config)
    )
    tags = tags_of(
        tagger,
        "Thanks @tt_org and teach together for the day",
        {"tt_org": "Some Display Name"},
    )
    assert training_of(tags) == [
        ("@tt_org", "Teach Together"),
        ("teach together", "Teach Together"),
    ]


def test_gazetteer_file_errors_name_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("training:\n  - aliases: [X]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="entry 1"):
        read_gazetteer(path)
    with pytest.raises(ConfigError, match="not found"):
        read_gazetteer(tmp_path / "missing.yaml")


def test_curator_alias_from_database(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'stories.db'}")
    with database.write() as session:
        add_training_alias(session, HEADSHIP, "the big headship course")
    config = config_from_dict({})
    tagger = Tagger(
        Tagger.from_config(config).nlp, Gazetteer.from_config(config, database)
    )
    tags = tags_of(tagger, "Signed up for The Big Headship Course at last")
    assert training_of(tags) == [("The Big Headship Course", HEADSHIP)]
    database.dispose()


def test_curator_alias_of_other_training_rejected(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'stories.db'}")
    with database.write() as session:
        add_training_alias(session, HEADSHIP, "big course")
        with pytest.raises(UsageError, match="already belongs"):
            add_training_alias(session, "Teach First", "Big Course")
    database.dispose()


# People in the store


def _story(
    session, text: str, tags: list[tuple[str, str, str | None]], number: int = 1
) -> StoryRow:
    """Insert a story with person tags given as (text, method, name)."""
    story = StoryRow(
        source="test",
        external_id=str(number),
        kind="tweet",
        text=text,
        created_at=datetime(2026, 1, number, tzinfo=timezone.utc),
    )
    for written, method, name in tags:
        start = text.index(written)
        story.tags.append(
            TagRow(
                kind="person",
                text=written,
                name=name,
                start=start,
                end=start + len(written),
                method=method,
            )
        )
    session.add(story)
    session.flush()
    return story


def _person_ids(story: StoryRow) -> list[int | None]:
    return [tag.person_id for tag in sorted(story.tags, key=lambda tag: tag.start)]


def test_display_name_drops_title() -> None:
    assert display_name("Mr Leon  Grant") == "Leon Grant"
    assert display_name("Dr. Siân Pritchard") == "Siân Pritchard"
    assert display_name("Mrs Okonkwo") == "Mrs Okonkwo"


def test_person_alias_normalization() -> None:
    assert normalize_person_alias("Mrs  Okonkwo") == "okonkwo"
    assert normalize_person_alias("Dr. Hannah Moore") == "hannah moore"
    assert normalize_person_alias("@Amara_Teaches") == "@amara_teaches"
    assert normalize_person_alias("Mr O’Brien") == "o'brien"
    assert normalize_person_alias("Miss") == "miss"
    assert normalize_person_alias("Professor Helen Brooks") == "helen brooks"


def test_mention_title_and_full_name_link(db: Database) -> None:
    with db.write() as session:
        first = _story(
            session,
            "@amara_teaches is great",
            [("@amara_teaches", "mention", "Amara Okonkwo")],
            1,
        )
        second = _story(
            session,
            "Amara Okonkwo and Mrs Okonkwo",
            [
                ("Amara Okonkwo", "ner", "Amara Okonkwo"),
                ("Mrs Okonkwo", "ner", "Mrs Okonkwo"),
            ],
            2,
        )
        third = _story(
            session, "thanks to mrs okonkwo", [("mrs okonkwo", "ner", "mrs okonkwo")], 3
        )
        assert link_people(session, [first, second, third]) == 4
        ids = set(_person_ids(first) + _person_ids(second) + _person_ids(third))
        assert len(ids) == 1
        person = session.get(Person, ids.pop())
        assert person.name == "Amara Okonkwo"
        assert person.handle == "amara_teaches"
        aliases = {row.alias for row in person.aliases}
        assert aliases == {"@amara_teaches", "amara okonkwo", "okonkwo", "f:okonkwo"}


def test_titled_surname_then_full_name(db: Database) -> None:
    with db.write() as session:
        first = _story(
            session, "Mrs Adeyemi saw it", [("Mrs Adeyemi", "ner", "Mrs Adeyemi")], 1
        )
        second = _story(
            session,
            "Grace Adeyemi retired",
            [("Grace Adeyemi", "ner", "Grace Adeyemi")],
            2,
        )
        link_people(session, [first])
        link_people(session, second)
        assert _person_ids(first) == _person_ids(second)
        assert session.get(Person, _person_ids(first)[0]).name == "Grace Adeyemi"


def test_ambiguous_surname_stays_apart(db: Database) -> None:
    with db.write() as session:
        first = _story(
            session,
            "Amara Okonkwo and Chidi Okonkwo",
            [("Amara Okonkwo", "ner", None), ("Chidi Okonkwo", "ner", None)],
            1,
        )
        second = _story(
            session, "Mr Okonkwo taught me", [("Mr Okonkwo", "ner", None)], 2
        )
        link_people(session, [first, second])
        ids = _person_ids(first) + _person_ids(second)
        assert len(set(ids)) == 3


def test_first_name_links_within_story(db: Database) -> None:
    with db.write() as session:
        story = _story(
            session,
            "Marcus Bell finished. Congrats Marcus!",
            [("Marcus Bell", "ner", None), ("Marcus!", "ner", "Marcus")],
            1,
        )
        link_people(session, story)
        first, second = _person_ids(story)
        assert first == second


def test_link_people_keeps_existing_links(db: Database) -> None:
    with db.write() as session:
        story = _story(session, "Ben Hall", [("Ben Hall", "ner", None)], 1)
        link_people(session, story)
        assert link_people(session, story) == 0
        assert session.scalar(select(func.count()).select_from(Person)) == 1


def test_merge_people_moves_aliases_and_tags(db: Database) -> None:
    with db.write() as session:
        first = _story(session, "Jo Baxter", [("Jo Baxter", "ner", None)], 1)
        second = _story(session, "Joanne Baxter", [("Joanne Baxter", "ner", None)], 2)
        link_people(session, [first, second])
        keep, other = _person_ids(first)[0], _person_ids(second)[0]
        assert keep != other
        merge_people(session, keep, other)
        session.expire_all()
        assert session.get(Person, other) is None
        assert _person_ids(second) == [keep]
        aliases = set(
            session.scalars(
                select(PersonAlias.alias).where(PersonAlias.person_id == keep)
            )
        )
        assert aliases == {"jo baxter", "joanne baxter"}
        with pytest.raises(UsageError, match="not found"):
            merge_people(session, keep, other)
        with pytest.raises(UsageError, match="itself"):
            merge_people(session, keep, keep)


def test_split_alias_moves_its_tags(db: Database) -> None:
    with db.write() as session:
        first = _story(session, "Amara Okonkwo", [("Amara Okonkwo", "ner", None)], 1)
        second = _story(session, "Mr Okonkwo", [("Mr Okonkwo", "ner", None)], 2)
        link_people(session, [first, second])
        old = _person_ids(first)[0]
        assert _person_ids(second) == [old]
        new = split_alias(session, "Mr Okonkwo")
        session.expire_all()
        assert new != old
        assert _person_ids(second) == [new]
        assert _person_ids(first) == [old]
        assert session.get(Person, new).name == "Mr Okonkwo"
        with pytest.raises(UsageError, match="only alias"):
            split_alias(session, "okonkwo")
        with pytest.raises(UsageError, match="not found"):
            split_alias(session, "nobody here")


def test_link_training_sets_training_rows(db: Database) -> None:
    with db.write() as session:
        story = StoryRow(
            source="t",
            external_id="1",
            kind="tweet",
            text="NPQH",
            created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        )
        story.tags.append(
            TagRow(
                kind="training",
                text="NPQH",
                name=HEADSHIP,
                start=0,
                end=4,
                method="gazetteer",
            )
        )
        session.add(story)
        session.flush()
        assert link_training(session, story) == 1
        training = session.get(Training, story.tags[0].training_id)
        assert training.name == HEADSHIP


def test_ner_model_from_folder(tmp_path: Path, tagger: Tagger) -> None:
    from harvester.tagging import load_pipeline

    tagger.nlp.to_disk(tmp_path / "ner")
    nlp = load_pipeline("en_core_web_sm", str(tmp_path / "ner"))
    assert nlp.pipe_names == ["ner"]
    doc = nlp("I would like to thank Priya Sharma for her help.")
    assert [ent.text for ent in doc.ents if ent.label_ == "PERSON"] == ["Priya Sharma"]


def test_ner_model_missing_folder(tmp_path: Path) -> None:
    from harvester.tagging import load_pipeline

    with pytest.raises(ConfigError, match="nlp.ner_model"):
        load_pipeline("en_core_web_sm", str(tmp_path / "nothing"))
    with pytest.raises(ConfigError, match="not installed"):
        load_pipeline("no_such_pipeline_here")


def test_gendered_titles_stay_apart(sqlite_url: str) -> None:
    from datetime import UTC, datetime

    from store.db import Database
    from store.models import Story as StoryRow
    from store.models import TagRow as Tag

    db = Database(sqlite_url)
    texts = [("Mr Julian Okonkwo taught chemistry.", "Mr Julian Okonkwo"), ("Mrs Okonkwo taught me to read.", "Mrs Okonkwo"),
             ("Thanks again to Mrs Okonkwo.", "Mrs Okonkwo")]
    with db.write() as session:
        stories = []
        for number, (text, name) in enumerate(texts):
            story = StoryRow(source="s", external_id=str(number), kind="tweet", text=text, created_at=datetime.now(UTC))
            story.tags.append(Tag(kind="person", text=name, start=text.index(name), end=text.index(name) + len(name), method="ner"))
            session.add(story)
            session.flush()
            link_people(session, story)
            stories.append(story)
        ids = [story.tags[0].person_id for story in stories]
    db.dispose()

    assert ids[0] != ids[1]
    assert ids[1] == ids[2]


def test_people_commands_merge_and_split(tmp_path) -> None:
    import yaml
    from click.testing import CliRunner

    from harvester.cli import cli
    from tests.pages import page, post, user, write_jsonl

    text = "#ConnectED Mrs Adeyemi and Mr Lindqvist both changed how I teach history and maths."
    archive = write_jsonl(tmp_path / "posts.jsonl", [page([post(9, text)], [user("ada_teaches", "Ada Lovelace")])])
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"database": "sqlite:///s.db", "sources": {"p": {"type": "twarc", "path": str(archive)}}}))
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "run"]).exit_code == 0

    listed = runner.invoke(cli, ["--config", str(config), "people", "list"])
    ids = [int(line.split()[0][1:]) for line in listed.output.splitlines() if line.startswith("#")]
    merged = runner.invoke(cli, ["--config", str(config), "people", "merge", str(ids[0]), str(ids[1])])
    after_merge = runner.invoke(cli, ["--config", str(config), "people", "list"])
    split = runner.invoke(cli, ["--config", str(config), "people", "split", "Mr Lindqvist"])
    missing = runner.invoke(cli, ["--config", str(config), "people", "split", "Nobody Here"])

    assert listed.exit_code == 0
    assert len(ids) == 2
    assert merged.exit_code == 0
    assert after_merge.output.count("#") == 1
    assert split.exit_code == 0
    assert "new person" in split.output
    assert missing.exit_code == 2
    assert "not found" in missing.output


# Name lists


def name_doc(text: str, people: Sequence[tuple[int, int]] = ()) -> Doc:
    doc = spacy.blank("en")(text)
    doc.set_ents([doc.char_span(start, end, label="PERSON") for start, end in people])
    return doc


SMALL_LISTS = NameLists(frozenset({"tanner", "emma", "amira"}), frozenset({"okafor"}))


def listed(doc_text: str, **options: object) -> list[str]:
    doc = name_doc(doc_text, **options)
    return [doc.text[start:end] for start, end in SMALL_LISTS.people(doc)]


def test_name_lists_find_first_and_surname() -> None:
    assert listed("i wish im emma 😭") == ["emma"]
    assert listed("Tanner Okafor ran the best CPD session") == ["Tanner Okafor"]
    # The surname joins only when its first letter has the same case.
    assert listed("thanks tanner Okafor") == ["tanner"]
    assert listed("EMMA and amira") == ["EMMA", "amira"]


def test_name_lists_skip_taken_words() -> None:
    assert listed("Emma Stone was there", people=[(0, 10)]) == []
    doc = name_doc("Amira Academy trains teachers")
    assert SMALL_LISTS.people(doc, taken=[(0, 13)]) == []
    assert listed("thanks @emma and #tanner") == []


def test_shipped_lists_skip_common_words() -> None:
    lists = NameLists.load()
    assert {"emma", "ryan", "tanner", "hubert"} <= lists.first_names
    assert not {"will", "grace", "mark", "may", "bill", "hope"} & lists.first_names
    assert not {"cherish", "amber", "coral"} & lists.first_names
    assert {"willow", "tanner"} <= lists.word_names
    assert "emma" not in lists.word_names
    assert {"davies", "clarke"} <= lists.surnames
    assert not {"smith", "brown", "white"} & lists.surnames
    assert "okafor" not in lists.first_names


def test_tagger_adds_listed_first_names(tagger: Tagger) -> None:
    assert tagger.names is not None
    text = "honestly bethany was the best teacher i ever had"
    assert people_of(tags_of(tagger, text)) == ["bethany"]
    assert people_of(tags_of(tagger, "Will you mark the essays with grace?")) == []
    plain = Tagger(tagger.nlp, tagger.gazetteer)
    assert people_of(tags_of(plain, text)) == []


def test_tagger_name_lists_off_in_config() -> None:
    config = config_from_dict({"nlp": {"ner_model": "stock", "name_lists": False}})
    assert Tagger.from_config(config).names is None


def test_name_lists_join_following_entity() -> None:
    assert listed("so proud of Amira Scott today", people=[(18, 23)]) == ["Amira Scott"]


def test_missing_name_lists_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="harvester.tagging.train.names"):
        NameLists.load(tmp_path)


def test_name_lists_leave_handles_and_hashtags(tagger: Tagger) -> None:
    tags = tags_of(tagger, "Thanks Tanner @jsmith for this", {"jsmith": "Jo Smith"})
    assert people_of(tags) == ["Tanner", "@jsmith"]
    assert people_of(tags_of(tagger, "#Amber alert issued")) == []
    assert "Tanner" not in people_of(tags_of(tagger, "Tanner-Smith joined the staff"))


def test_name_lists_keep_titled_people_apart(tagger: Tagger) -> None:
    people = people_of(tags_of(tagger, "Shoutout to bethany Mrs Jones and the team"))
    assert people == ["bethany", "Mrs Jones"]


def test_name_lists_join_listed_surname(tagger: Tagger) -> None:
    people = people_of(tags_of(tagger, "so proud of kayleigh davies today"))
    assert people == ["kayleigh davies"]


def test_name_lists_skip_nouns_and_institutions(tagger: Tagger) -> None:
    assert people_of(tags_of(tagger, "our teaching aide was amazing this term")) == []
    assert people_of(tags_of(tagger, "Willow class had a trip to the farm")) == []
    assert people_of(tags_of(tagger, "so proud of our trinity academy staff")) == []


def test_name_lists_skip_particles_and_case() -> None:
    lists = NameLists(frozenset({"jessica", "cruz", "amira"}), frozenset())
    doc = name_doc("Jessica de la Cruz")
    assert [doc.text[a:b] for a, b in lists.people(doc)] == ["Jessica"]
    doc = name_doc("thanks amira Ben Carter", people=[(13, 23)])
    assert [doc.text[a:b] for a, b in lists.people(doc)] == ["amira"]


def test_longer_span_wins_at_same_start(tagger: Tagger) -> None:
    people = people_of(tags_of(tagger, "Mrs Emma Scott and Mr tanner"))
    assert "Mr tanner" in people
    assert "Mr" not in people


def test_professor_title_before_name(tagger: Tagger) -> None:
    people = people_of(tags_of(tagger, "Professor Will Hutton spoke"))
    assert people == ["Professor Will Hutton"]


def test_miss_as_verb_is_no_title(tagger: Tagger) -> None:
    assert people_of(tags_of(tagger, "I miss teaching year 6 so much")) == []
    people = people_of(tags_of(tagger, "I will miss Jessica so much"))
    assert "miss Jessica" not in people
    assert people_of(tags_of(tagger, "Miss Jones taught me to read")) == ["Miss Jones"]


def test_team_sign_off_is_no_person(tagger: Tagger) -> None:
    for team in ("The English Department", "Admissions Team", "School Office"):
        assert people_of(tags_of(tagger, f"Kind regards,\n{team}")) == [], team
    assert people_of(tags_of(tagger, "Kind regards,\nNicola Grant")) == ["Nicola Grant"]


def test_addresses_are_no_people(tagger: Tagger) -> None:
    for text in (
        "email jessica.hughes@school.org.uk for details",
        "see jessica-hughes.com for her blog",
        "Thanks Dr https://t.co/abc",
    ):
        assert people_of(tags_of(tagger, text)) == [], text


def test_title_alone_is_no_person() -> None:
    assert clean_person_span("Thanks Mrs Mrs", 7, 14) is None
    assert clean_person_span("Thanks Mrs Mrs Patel", 7, 20) == (7, 20)


def test_long_handle_kept_whole(tagger: Tagger) -> None:
    tags = tags_of(tagger, "@jessica_hughes_teach thanks!")
    assert all(tag.text != "@jessica_hughes_" for tag in tags)
