from __future__ import annotations

import pytest

from rag.citations import is_decline, parse_markers, split_answer
from rag.generation.base import number_passages
from rag.text_facts import asks_for_quantity, missing_terms, required_terms, states_quantity
from rag.types import Chunk
from rag.verification import Verifier

from .conftest import seed_text

P1 = ("Russia dispatched nearly 100 tons of humanitarian aid to Cuba. The delivery was directly "
      "ordered by President Vladimir Putin.")
P2 = ("Two An-124 cargo planes carrying more than 88 tons of humanitarian support took off from a "
      "military airport near Moscow. The cargo included food and more than 1 million medical masks.")
P3 = "In February 2019, Russia approved a 38 million euro loan for Cuba's defense sector."


def passages():  # type: ignore[no-untyped-def]
    chunks = []
    offset = 0
    for i, text in enumerate([P1, P2, P3]):
        chunks.append(Chunk(id=f"c{i}", doc_id="doc", title="Aid", source="https://example.org", text=text,
                            start=offset, end=offset + len(text), index=i, doc_version="v"))
        offset += len(text) + 2
    return number_passages(chunks)


@pytest.mark.parametrize("sentence, text, cited", [
    ("Russia sent aid [1].", "Russia sent aid.", (1,)),
    ("Aid went by plane [2][3].", "Aid went by plane.", (2, 3)),
    ("Aid went by plane [2, 3].", "Aid went by plane.", (2, 3)),
    ("Masks were sent [1-3].", "Masks were sent.", (1, 2, 3)),
    ("No citation here.", "No citation here.", ()),
])
def test_parse_markers(sentence: str, text: str, cited: tuple[int, ...]) -> None:
    assert parse_markers(sentence) == (text, cited)


def test_split_answer_keeps_markers_after_full_stop_with_their_sentence() -> None:
    assert split_answer("Russia sent aid. [1] Putin ordered it. [1][2]") == ["Russia sent aid [1].", "Putin ordered it [1][2]."]


@pytest.mark.parametrize("sentence, passage, missing", [
    ("It carried 1,000,000 masks.", "more than 1 million masks", []),
    ("It carried 1 million masks.", "more than 1,000,000 masks", []),
    ("It carried 2 million masks.", "more than 1 million masks", ["2"]),
    ("A 38 million euro loan.", "a loan of 38,000,000 euro", []),
    ("Putin went in 2019.", "In 2019 Putin went", []),
    ("Putin went in 2020.", "In 2019 Putin went", ["2020"]),
    ("The meeting lasted 2 days.", "the two-day meeting", []),
    ("The meeting lasted 3 days.", "the two-day meeting", ["3"]),
    ("21 hours later.", "twenty-one hours later", []), ("12 eggs.", "a dozen eggs", []),
])
def test_numbers_match_at_any_scale(sentence: str, passage: str, missing: list[str]) -> None:
    assert missing_terms(sentence, passage) == missing


def test_required_terms() -> None:
    numbers, names = required_terms("In 2019 Putin approved a 38 million euro loan for Cuba's army of 1,000.")
    assert numbers == ["2019", "38", "1000"]
    assert names == ["Putin", "Cuba"]


CASES = [
    # (answer, kept sentences' status, expected quote fragments, declined)
    ("Russia sent nearly 100 tons of humanitarian aid to Cuba [1].", ["supported"], ["nearly 100 tons"], False),
    ("The aid was carried by two An-124 cargo planes [2].", ["supported"], ["Two An-124 cargo planes"], False),
    # cited the wrong passage, the right one is clear: re-attached
    ("The cargo included food and more than 1 million medical masks [1].", ["reattached"], ["1 million medical masks"], False),
    # uncited but clearly supported: attached
    ("Putin ordered the delivery directly.", ["reattached"], ["directly ordered by President Vladimir Putin"], False),
    # a fragment of function words after a supported sentence (an answer cut short): dropped
    ("Russia sent nearly 100 tons of humanitarian aid to Cuba [1]. The [1].", ["supported"], ["nearly 100 tons"], False),
    # a sentence about the passages, not the world, after a supported one: dropped; alone: declined
    ("Russia sent nearly 100 tons of humanitarian aid to Cuba [1]. This information is supported by passage [1].",
     ["supported"], ["nearly 100 tons"], False),
    ("This information is stated in passage [1].", [], [], True),
    # the same number at another scale ("1,000,000" for "1 million"): supported
    ("The cargo included 1,000,000 medical masks [2].", ["supported"], ["1 million medical masks"], False),
    # a number the passage does not have: removed
    ("Russia sent 500 tons of gold to Cuba [1].", ["unsupported"], [], True),
    # a marker out of range only: removed
    ("Paris is the capital of France [7].", ["out-of-range-only"], [], True),
    # world knowledge with a valid marker: removed
    ("Paris is the capital of France [2].", ["unsupported"], [], True),
    # one good sentence, one invented: the invented one goes
    ("Russia approved a 38 million euro loan in February 2019 [3]. The loan was repaid by Venezuela in 2021 [3].",
     ["supported", "unsupported"], ["38 million euro loan"], False),
]


@pytest.mark.parametrize("answer, statuses, quotes, declined", CASES)
def test_verification_table(embeddings, answer: str, statuses: list[str], quotes: list[str], declined: bool) -> None:  # type: ignore[no-untyped-def]
    result = Verifier(embeddings).verify(answer, passages())
    assert [v.status for v in result.verdicts] == statuses
    assert result.declined == declined
    assert len(result.citations) == len(quotes)
    by_number = {p.n: p.chunk for p in passages()}
    for citation, fragment in zip(result.citations, quotes):
        assert fragment in citation.quote
        chunk = next(c for c in by_number.values() if c.id == citation.chunk_id)
        # quote is the document's text at the citation's offsets (here documents are the passages)
        assert chunk.text[citation.start - chunk.start:citation.end - chunk.start] == citation.quote
    if not declined:
        for n in range(1, len(result.citations) + 1):
            assert f"[{n}]" in result.text
        assert "[7]" not in result.text


def test_quotes_are_verbatim_in_the_real_article(embeddings) -> None:  # type: ignore[no-untyped-def]
    text = seed_text()
    start = text.index("Russian Deputy Foreign Minister")
    end = text.index("Moscow is fearful")
    chunk = Chunk(id="x", doc_id="seed", title="T", source="s", text=text[start:end].strip(), start=start,
                  end=start + len(text[start:end].strip()), index=0, doc_version="v")
    result = Verifier(embeddings).verify("Sergei Ryabkov vowed support to Cuba during a meeting with the Cuban ambassador [1].",
                                         number_passages([chunk]))
    [citation] = result.citations
    assert text[citation.start:citation.end] == citation.quote
    assert "during a\n\nmeeting" in citation.quote


@pytest.mark.parametrize("text, declined", [
    ("NOT_IN_CORPUS", True),
    ("The passages do not contain information about arrests.", True),
    ("I don't know.", True),
    ("There is no information about the cost in the passages.", True),
    ("The number of arrests is not mentioned in the passages.", True),
    ("Russia sent aid [1].", False),
    ("The article does say that Putin ordered it [1].", False),
])
def test_decline_detection(text: str, declined: bool) -> None:
    assert is_decline(text) == declined


def test_a_short_answer_is_judged_with_its_question(embeddings) -> None:  # type: ignore[no-untyped-def]
    verifier = Verifier(embeddings)
    result = verifier.verify("President Vladimir Putin [1].", passages(), question="Who ordered the delivery?")
    assert [v.status for v in result.verdicts] == ["supported"]
    assert "directly ordered by President Vladimir Putin" in result.citations[0].quote


def test_a_sentence_about_the_passages_is_no_answer_even_after_its_question(embeddings) -> None:  # type: ignore[no-untyped-def]
    # Read after the question, the empty sentence came close enough to a passage sentence to pass.
    result = Verifier(embeddings).verify("This information is supported by passage [1].", passages(),
                                         question="How much humanitarian aid did Russia send to Cuba?")
    assert result.declined and not result.citations


def test_a_repeated_sentence_is_kept_once(embeddings) -> None:  # type: ignore[no-untyped-def]
    answer = "Russia sent nearly 100 tons of humanitarian aid to Cuba [1]. Russia sent nearly 100 tons of humanitarian aid to Cuba [1]."
    result = Verifier(embeddings).verify(answer, passages())
    assert result.text.count("100 tons") == 1 and len(result.citations) == 1


@pytest.mark.parametrize("question, asks", [
    ("How many medical masks were in the cargo?", True), ("how much did the repairs cost", True),
    ("What share of children are overweight?", True), ("What percentage voted yes?", True),
    ("Who ordered the delivery?", False), ("How long did the meeting last?", False), ("Why did Russia help?", False),
])
def test_quantity_questions(question: str, asks: bool) -> None:
    assert asks_for_quantity(question) is asks


@pytest.mark.parametrize("answer, states", [
    ("More than 1 million medical masks [2].", True), ("Hundreds, if not thousands, of officers [1].", True),
    ("About a third of them [3].", True), ("He has won it twice [1].", True), ("12 per cent [4].", True),
    ("The delivery was ordered by President Vladimir Putin [1].", False),  # a marker is not a number
    ("It was ordered by Putin [1][2].", False),
])
def test_answers_that_state_a_quantity(answer: str, states: bool) -> None:
    assert states_quantity(answer) is states


LONG = ("Russia dispatched nearly 100 tons of humanitarian aid to Cuba, the Russian defense ministry has informed, "
        "following unprecedented street protests over the communist country's worst economic crisis in decades, after "
        "the United States had imposed sanctions on Cuba's defense minister and a special forces unit for quashing "
        "peaceful protests.")


@pytest.mark.parametrize("answer, status", [
    # A clause lifted out of a long sentence: its embedding is far from the sentence's, its words are all there.
    ("The United States imposed sanctions on Cuba's defense minister and a special forces unit.", "reattached"),
    ("The United States imposed sanctions on 12 special forces units.", "unsupported"),  # a number not there
    ("The United States lifted its sanctions on Cuba after the protests ended peacefully.", "unsupported"),
])
def test_a_sentence_made_of_the_passage_words_is_supported(embeddings, answer: str, status: str) -> None:  # type: ignore[no-untyped-def]
    long = number_passages([Chunk(id="l", doc_id="doc", title="Aid", source="s", text=LONG, start=0, end=len(LONG),
                                  index=0, doc_version="v")])
    verified = Verifier(embeddings).verify(answer, long, "Whom did the United States sanction?")
    assert [v.status for v in verified.verdicts] == [status]


@pytest.mark.parametrize("sentence, passage, missing", [
    ("The cash rate fell to 4.00 per cent.", "the cash rate is now 4 per cent", []),
    ("The cash rate fell to 4.50 per cent.", "the cash rate is now 4.5 per cent", []),
    ("The cash rate fell to 4.25 per cent.", "the cash rate is now 4 per cent", ["4.25"]),
    ("It cost 1,500.0 dollars.", "it cost 1500 dollars", []),
])
def test_zero_decimals_do_not_change_a_number(sentence: str, passage: str, missing: list[str]) -> None:
    assert missing_terms(sentence, passage) == missing


def test_a_name_the_question_gives_may_come_from_the_rest_of_the_passage() -> None:
    unit = "He underwent an emergency appendectomy on February 24."
    passage = "Suharto was taken to hospital in Jakarta last week. " + unit
    sentence = "Suharto underwent an emergency appendectomy on February 24."
    assert missing_terms(sentence, unit) == ["Suharto"]
    assert missing_terms(sentence, unit, passage, given=["Suharto"]) == []
    # Only a name the question gives: the answer's own names must be in the quote.
    assert missing_terms(sentence, unit, passage, given=[]) == ["Suharto"]
    # And only when the passage holds it: a name from nowhere stays missing.
    assert missing_terms("Suharto flew to the Caribbean.", "Suharto flew to Cuba.", "Suharto flew to Cuba.",
                         given=["Caribbean"]) == ["Caribbean"]


FAR_APART = ("Suharto was taken to a Jakarta hospital on Saturday. Doctors said his condition was stable. "
             "Visitors were turned away at the gate. The hospital issued a short statement at noon. "
             "He underwent an emergency appendectomy on February 24.")


def test_verification_reads_a_question_name_from_the_quotes_passage(embeddings) -> None:  # type: ignore[no-untyped-def]
    numbered = number_passages([Chunk(id="c", doc_id="doc", title="T", source="s", text=FAR_APART, start=0,
                                      end=len(FAR_APART), index=0, doc_version="v")])
    answer = "Suharto underwent an emergency appendectomy on February 24 [1]."
    asked = Verifier(embeddings).verify(answer, numbered, "When did Suharto undergo his emergency appendectomy?")
    assert not asked.declined
    assert asked.citations[0].quote == "He underwent an emergency appendectomy on February 24."
    # Asked about "the patient", the sentence names Suharto on its own: the sentence that names him is quoted too.
    other = Verifier(embeddings).verify(answer, numbered, "When did the patient undergo surgery?")
    assert [c.quote for c in other.citations] == ["Suharto was taken to a Jakarta hospital on Saturday.",
                                                  "He underwent an emergency appendectomy on February 24."]


def test_a_sentence_joining_two_places_of_one_passage_cites_both(embeddings) -> None:  # type: ignore[no-untyped-def]
    text = ("Russia dispatched nearly 100 tons of humanitarian aid to Cuba. Protests had spread across the island. "
            "Prices of food and medicine had doubled. Power cuts lasted for days. "
            "The delivery was directly ordered by President Vladimir Putin.")
    numbered = number_passages([Chunk(id="c", doc_id="doc", title="T", source="s", text=text, start=0,
                                      end=len(text), index=0, doc_version="v")])
    verified = Verifier(embeddings).verify("President Vladimir Putin ordered the 100 tons of aid to Cuba [1].", numbered,
                                           "Who ordered the 100 tons of aid to Cuba?")
    assert not verified.declined
    assert [c.quote for c in verified.citations] == ["Russia dispatched nearly 100 tons of humanitarian aid to Cuba.",
                                                     "The delivery was directly ordered by President Vladimir Putin."]
    assert verified.text.endswith("[1][2].")
