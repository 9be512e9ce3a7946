"""Tests of the NER training helpers: CoNLL reading, augmentation, corpora and scoring."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from harvester.errors import UsageError
from harvester.tagging.train import prepare
from harvester.tagging.train.augment import case_variants, name_swaps
from harvester.tagging.train.conll import (
    Sentence,
    bio_spans,
    detect_person_label,
    join_mentions,
    read_conll,
)
from harvester.tagging.train.email_style import generate
from harvester.tagging.names import FIRST_NAMES_FILE, SURNAMES_FILE, NameLists
from harvester.tagging.train import names as census
from harvester.tagging.train.names import gold_words, name_lists
from harvester.tagging.train.normalize import normalize_token
from harvester.tagging.train.score import score_file, score_gold_jsonl

TINY_CONLL = (
    "RT\tO\n@\tB-PER\namara_t\tB-PER\n:\tO\nthanks\tO\nMrs\tO\nOkonkwo\tB-PER\n\n"
    "met\tO\ngrace\tB-person\nevans\tI-person\nat\tO\nLeeds\tB-location\n\n"
)


def write(tmp_path: Path, text: str, name: str = "tiny.conll") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bio_spans_split_mention_is_two_entities() -> None:
    tags = ("O", "B-PER", "B-PER", "I-PER", "O")
    assert list(bio_spans(tags, "PER")) == [(1, 2), (2, 4)]


def test_bio_spans_orphan_inside_starts_entity() -> None:
    tags = ("I-PER", "O", "B-ORG", "I-PER", "I-PER")
    assert list(bio_spans(tags, "PER")) == [(0, 1), (3, 5)]


def test_read_conll_whitespace_line_ends_sentence(tmp_path: Path) -> None:
    path = write(tmp_path, "a\tO\n\t\nb\tB-PER\n\tO\n")
    sentences = read_conll(path)
    assert len(sentences) == 2
    assert sentences[1].words == ("b", "")


def test_read_conll_bad_line_names_position(tmp_path: Path) -> None:
    path = write(tmp_path, "a\tO\nbroken line\n")
    with pytest.raises(UsageError, match=r"tiny\.conll:2"):
        read_conll(path)


def test_detect_person_label_both_sets(tmp_path: Path) -> None:
    sentences = read_conll(write(tmp_path, TINY_CONLL))
    assert detect_person_label(sentences[:1]) == "PER"
    assert detect_person_label(sentences[1:]) == "person"
    with pytest.raises(UsageError, match="no person label"):
        detect_person_label([Sentence(("x",), ("B-LOC",))])


def test_join_mentions_merges_lone_at() -> None:
    sentence = Sentence(
        ("@", "bob", "hi", "@", "Acme", "@"), ("O", "B-PER", "O", "B-ORG", "B-ORG", "O")
    )
    joined = join_mentions(sentence)
    assert joined.words == ("@bob", "hi", "@Acme", "@")
    assert joined.tags == ("B-PER", "O", "B-ORG", "O")


def test_normalize_token_strips_hashtag_sign() -> None:
    assert normalize_token("#AmaraOkonkwo") == "AmaraOkonkwo"
    assert normalize_token("#") == "#"
    assert normalize_token("#2024") == "#2024"
    assert normalize_token("@amara") == "@amara"


def test_case_variants_lower_and_title() -> None:
    rng = random.Random(0)
    capital = Sentence(("met", "Grace", "Evans"), ("O", "B-PER", "I-PER"))
    lower = Sentence(("met", "grace", "evans"), ("O", "B-PER", "I-PER"))
    assert list(
        case_variants(capital, "PER", rng, name_rate=1.0, sentence_rate=0.0)
    ) == [lower]
    assert list(case_variants(lower, "PER", rng, name_rate=1.0, sentence_rate=0.0)) == [
        capital
    ]
    assert (
        list(case_variants(capital, "PER", rng, name_rate=0.0, sentence_rate=0.0)) == []
    )


def test_name_swaps_keep_case_and_tags() -> None:
    rng = random.Random(3)
    sentence = Sentence(
        ("@", "amara_t", "met", "grace", "evans", "and", "OKONKWO", "#Leeds"),
        ("B-PER", "B-PER", "O", "B-PER", "I-PER", "O", "B-PER", "O"),
    )
    [swapped] = name_swaps(
        sentence,
        "PER",
        rng,
        rate=1.0,
        first_names=["Tomasz"],
        surnames=["Whitfield"],
    )
    assert swapped.words[:3] == ("@", "amara_t", "met")
    assert swapped.words[3:6] == ("tomasz", "whitfield", "and")
    assert swapped.words[6] in ("TOMASZ", "WHITFIELD")
    assert swapped.words[7] == "#Leeds"
    assert swapped.tags == sentence.tags
    assert list(bio_spans(swapped.tags, "PER")) == list(bio_spans(sentence.tags, "PER"))


def test_name_swaps_without_candidates() -> None:
    rng = random.Random(0)
    handles = Sentence(("@", "amara_t", "hi"), ("B-PER", "B-PER", "O"))
    names = {"first_names": ["Tomasz"], "surnames": ["Whitfield"]}
    assert list(name_swaps(handles, "PER", rng, rate=1.0, **names)) == []
    person = Sentence(("met", "Grace"), ("O", "B-PER"))
    assert list(name_swaps(person, "PER", rng, rate=0.0, **names)) == []


def test_name_lists_leave_out_gold_people() -> None:
    first, surnames = name_lists()
    assert len(first) > 4000
    assert len(surnames) > 9000
    gold = gold_words()
    assert "okonkwo" in gold
    assert not gold & {name.lower() for name in first + surnames}
    assert "Smith" in surnames


def test_uncommon_drops_common_words() -> None:
    dictionary = census.dictionary_words()
    assert "grace" in dictionary
    assert "emma" not in dictionary
    names = ["Will", "Emma", "Tanner", "Grace", "Ryan", "Al"]
    rare = census.uncommon(names, dictionary, 3)
    assert rare == ["emma", "ryan", "tanner"]


def test_name_list_files_rebuild_as_shipped(tmp_path: Path) -> None:
    assert census.main(["--output", str(tmp_path)]) == 0
    for name in (FIRST_NAMES_FILE, SURNAMES_FILE):
        shipped = (Path(census.DATA) / name).read_text(encoding="utf-8")
        assert (tmp_path / name).read_text(encoding="utf-8") == shipped
    lists = NameLists.load(tmp_path)
    assert "emma" in lists.first_names
    assert "will" not in lists.first_names


def test_email_style_spans_cover_names() -> None:
    texts = list(generate(60, seed=3))
    assert texts == list(generate(60, seed=3))
    people = [text.text[start:end] for text in texts for start, end in text.people]
    assert people
    for name in people:
        assert name[0].isupper(), name
        assert name == name.strip(), name
    assert any(
        name.startswith(("Mrs ", "Mr ", "Dr ", "Miss ", "Ms ")) for name in people
    )
    assert all(
        " " in name
        for name in people
        if name.startswith(("Mrs", "Mr", "Dr", "Miss", "Ms"))
    )


def test_sentence_doc_drops_empty_and_marks_handles_missing() -> None:
    nlp = spacy.blank("en")
    sentence = Sentence(("", "@paul", "#GraceEvans", "hi"), ("O", "O", "B-PER", "O"))
    doc = prepare.sentence_doc(
        nlp, sentence, "PER", normalize=True, handles_missing=True
    )
    assert doc is not None
    assert [token.text for token in doc] == ["@paul", "GraceEvans", "hi"]
    assert [token.ent_iob_ for token in doc] == ["", "B", "O"]
    assert [ent.text for ent in doc.ents] == ["GraceEvans"]


def test_score_file_counts_exact_spans(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": "Okonkwo"},
            {"label": "PERSON", "pattern": "grace"},
            {"label": "PERSON", "pattern": "Leeds"},
        ]
    )
    path = write(tmp_path, TINY_CONLL.split("\n\n")[1] + "\n")
    score = score_file(nlp, path)
    # Gold: "grace evans". Predicted: "grace" (wrong end) and "Leeds" (not a person).
    assert (score.gold, score.predicted, score.correct) == (1, 2, 0)
    assert score.f1 == 0.0

    path = write(tmp_path, TINY_CONLL.split("\n\n")[0] + "\n", "per.conll")
    score = score_file(nlp, path)
    assert (score.gold, score.predicted, score.correct) == (3, 1, 1)
    assert score.precision == 1.0
    assert score.recall == pytest.approx(1 / 3)
    assert score.f1 == pytest.approx(0.5)


def test_prepare_writes_corpora(tmp_path: Path) -> None:
    conll = write(tmp_path, TINY_CONLL)
    output = tmp_path / "corpus"
    argv = [
        "--train",
        str(conll),
        "--dev",
        str(conll),
        "--output",
        str(output),
        "--email-style",
        "5",
    ]
    assert prepare.main(argv + ["--case-augment", "--join-mentions"]) == 0

    nlp = spacy.blank("en")
    train = list(DocBin().from_disk(output / "train.spacy").get_docs(nlp.vocab))
    dev = list(DocBin().from_disk(output / "dev.spacy").get_docs(nlp.vocab))
    assert len(dev) == 2
    assert len(train) >= 2 + 1 + 5
    labels = {ent.label_ for doc in train for ent in doc.ents}
    assert labels == {"PERSON"}
    assert any(token.text == "@amara_t" for doc in train for token in doc)
    assert (output / "manifest.json").is_file()


def test_score_gold_jsonl_filters_style(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": "PERSON", "pattern": "Grace Evans"}]
    )
    rows = [
        {
            "style": "email",
            "text": "Thanks, Grace Evans",
            "spans": [{"start": 8, "end": 19, "label": "person"}],
        },
        {
            "style": "post",
            "text": "hi @grace",
            "spans": [{"start": 3, "end": 9, "label": "person"}],
        },
    ]
    path = write(
        tmp_path, "\n".join(json.dumps(row) for row in rows) + "\n", "gold.jsonl"
    )
    email = score_gold_jsonl(nlp, path, "email")
    assert (email.gold, email.predicted, email.correct) == (1, 1, 1)
    both = score_gold_jsonl(nlp, path)
    assert (both.gold, both.predicted, both.correct) == (2, 1, 1)

    broken = write(tmp_path, '{"text": "no spans"}\n', "broken.jsonl")
    with pytest.raises(UsageError, match=r"broken\.jsonl:1"):
        score_gold_jsonl(nlp, broken)
