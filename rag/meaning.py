"""Meaning checks: does a sentence say what its quote says, or only use its words?

Verification first finds the quote: a passage sentence (or a short run of them) that holds the
answer sentence's names and numbers and is close to it in meaning. Closeness in an embedding and
shared words do not see the small words that turn a fact around, so each check below compares the
sentence with the quote, and names what it found:

- ``restatement``: the sentence only repeats the question ("Russia strengthened its ties with Cuba
  since 2019" to "How has Russia strengthened its ties with Cuba since 2019?");
- ``condition``: the quote says it under a condition ("if Russian siloviki arrive, the United States
  will respond harshly") and the sentence says it without one;
- ``modality``: the quote says it may, would or will happen, is planned, hoped, feared, vowed or
  competed for ("is vying for best picture"), and the sentence says it happened;
- ``negation``: a word negated in one is affirmed in the other ("has not been suspended" against
  "has been suspended"), or the sentence uses the opposite word ("lifted" for "imposed", "more" for
  "fewer");
- ``agent``: who did what to whom is turned round ("Huegill beat Klim" against "Klim beat
  Huegill"; passive voice read as such);
- ``number``: a number or date of the sentence is not the one the quote gives for that fact (the
  clause the sentence draws on), or counts something else ("100 tons of gold" against "100 tons
  of humanitarian aid", "88 planes" against "88 tons");
- ``addition``: the sentence adds a cause ("because …") or several content words that the quote
  and the question do not hold ("… caused by a drunk driver").

No natural-language-inference model ships its weights on PyPI and a 1.5B model reads these
poorly, so the checks are rules over the words, with the embedding model to tell a synonym from a
new word. They are measured on ``evals/faithfulness/`` (labelled sentence and quote pairs), tuned
on its dev split only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from .keyword import stem
from .text_facts import spelled_numbers

CHECKS = ("restatement", "condition", "modality", "negation", "agent", "number", "addition")

_WORD = re.compile(r"[A-Za-z][\w'’-]*|\d+(?:[.,]\d+)*%?")
# Function words that carry no claim; everything else of a sentence is its content.
_FUNCTION = frozenset("""a an the and or but so of to in on at by for from with into onto about as than then that this
these those it its it's they them their there here he him his she her we our you your i me my is are was were be been
being am do does did doing has have had having will would shall should can could may might must also just very
what which who whom whose why when where how yes no not nor its mr mrs ms dr""".split())
# Small words that shade a claim without adding one to it.
_PARTICLES = frozenset("yet still already even out off up down just only also now then too".split())
# Words that name no particular thing: a sentence made of the question's words and these says nothing.
_VAGUE = frozenset(stem(w) for w in """reason reasons number numbers factor factors various several way ways thing things
aspect aspects issue issues matter matters situation case variety range lot lots many some certain different
important significant key main number kind kinds sort type types part parts""".split())

# A condition on the claim, in the quote; and the words by which a sentence keeps one.
_CONDITION = re.compile(r"\b(?:if|unless|provided that|providing that|in case|in the event|whether|as long as|"
                        r"on condition)\b", re.IGNORECASE)
_KEEPS_CONDITION = re.compile(r"\b(?:if|unless|whether|would|could|might|may|should|in case|in the event|provided|"
                              r"depend\w*|condition\w*)\b", re.IGNORECASE)
# The claim is not (yet) a fact: possible, future, planned, hoped, feared, threatened, promised, or
# only competed for.
_MODAL = re.compile(
    r"\b(?:would|could|may|might|will|shall|should|must|'ll|"
    r"plans?|planned|planning|intends?|intended|intention|expects?|expected|expectation|likely|unlikely|possibl[ey]|"
    r"potential(?:ly)?|propos(?:e|ed|es|al)|consider(?:s|ed|ing)?|debat(?:e|ed|es|ing)|threat(?:en|ened|ens)?|"
    r"vow(?:s|ed)?|pledg(?:e|ed|es)|promis(?:e|ed|es)|warn(?:s|ed|ing)?|hope[sd]?|hoping|aim(?:s|ed)? to|"
    r"set to|due to (?!\w+ing)|is to|are to|was to|were to|going to|risk(?:s|ed)?|fear(?:s|ed|ful)?|"
    r"prepar(?:e|es|ed|ing) to|ready to|seek(?:s|ing)? to|sought to|want(?:s|ed)? to|call(?:s|ed)? for|"
    r"urg(?:e|es|ed)|demand(?:s|ed)?|predict(?:s|ed)?|forecast|estimat(?:e|es|ed)|scheduled|next|"
    r"vy(?:ing)|vie[sd]?|compet(?:e|es|ing) for|contend\w*|nominat\w*|shortlist\w*|candidates?|bid(?:ding)? for|"
    r"in the running|tipped|favourite|favorite|poised|chasing|hopeful)\b",
    re.IGNORECASE)
# Words by which a sentence reports a claim instead of stating it: these keep a modal quote's sense.
_REPORTING = re.compile(
    r"\b(?:said|says|say|told|tells|stated|states|announced|announces|claimed|claims|according to|reported|"
    r"reports|believes?|believed|argued|argues|suggested|suggests|insisted|insists|added|noted|"
    r"considered|debating|discussing|nominated)\b", re.IGNORECASE)
# "can play", "is allowed to": what the quote says will be possible, said as possible.
_ABLE = re.compile(r"\b(?:can|able to|allowed to|free to|permitted to|eligible)\b", re.IGNORECASE)
_NEGATORS = frozenset("not no never none nobody nothing neither nor without cannot n't nt".split())
# A cause the sentence asserts; a quote that gives none does not support it.
_ASSERTED_CAUSE = re.compile(r"\b(?:because|due to|caused by|as a result of|owing to|thanks to|so that|led to|"
                             r"leading to|blamed on|in order to|resulting from|the reason)\b", re.IGNORECASE)
_ANY_CAUSE = re.compile(r"\b(?:because|due to|caused|cause|as a result|owing to|thanks to|so that|led to|leading to|"
                        r"blamed|in order to|result|reason|since|after|following|over|amid|to (?:\w+ )?(?:help|"
                        r"support|protect|defend|avoid|prevent|stop|ensure|keep)|fear\w*|concern\w*|why|prompt\w*|"
                        r"trigger\w*|spark\w*|for)\b", re.IGNORECASE)

# Words that say the opposite of each other; a sentence using one where its quote uses the other
# turns the fact round.
_OPPOSITES = [
    ("impose", "lift"), ("rise", "fall"), ("rose", "fell"), ("increase", "decrease"), ("increase", "cut"),
    ("increase", "reduce"), ("increase", "drop"), ("rise", "drop"), ("raise", "lower"), ("raise", "cut"),
    ("approve", "reject"), ("accept", "reject"), ("accept", "refuse"), ("win", "lose"), ("won", "lost"),
    ("gain", "lose"), ("gained", "lost"), ("victory", "defeat"), ("allow", "ban"), ("allow", "forbid"),
    ("allow", "prohibit"), ("permit", "ban"), ("open", "close"), ("opened", "closed"), ("higher", "lower"),
    ("more", "less"), ("more", "fewer"), ("up", "down"), ("before", "after"), ("earlier", "later"),
    ("next", "last"), ("above", "below"), ("support", "oppose"), ("agree", "disagree"), ("include", "exclude"),
    ("grant", "deny"), ("confirm", "deny"), ("admit", "deny"), ("start", "end"), ("begin", "end"),
    ("acquit", "convict"), ("guilty", "innocent"), ("arrive", "leave"), ("arrive", "depart"), ("import", "export"),
    ("buy", "sell"), ("bought", "sold"), ("enter", "leave"), ("success", "failure"), ("succeed", "fail"),
    ("surplus", "deficit"), ("profit", "loss"), ("strengthen", "weaken"), ("expand", "shrink"), ("hire", "fire"),
    ("release", "arrest"), ("release", "detain"), ("survive", "die"), ("survived", "killed"),
    ("north", "south"), ("east", "west"), ("maximum", "minimum"), ("most", "least"), ("best", "worst"),
    ("yesterday", "tomorrow"), ("past", "future"), ("legal", "illegal"), ("easier", "harder"),
    ("ally", "enemy"), ("friend", "enemy"), ("peace", "war"), ("lend", "borrow"), ("boost", "cut"),
    ("reached", "failed"), ("reach", "fail"), ("pass", "fail"), ("passed", "failed"), ("larger", "smaller"),
    ("bigger", "smaller"), ("longer", "shorter"), ("older", "younger"), ("faster", "slower"), ("gain", "loss"),
]
_OPPOSITE_STEMS = [(stem(a), stem(b)) for a, b in _OPPOSITES]
_PASSIVE = re.compile(r"\b(?:was|were|is|are|been|being|be|got|get|gets)\s+(?:\w+ly\s+)?(\w+)\s+by\b", re.IGNORECASE)
# Units and the words they are also written as.
_UNIT_FORMS = [{"ton", "tons", "tonne", "tonnes", "t"}, {"percent", "per", "cent", "%", "pc"},
               {"kilometre", "kilometres", "kilometer", "kilometers", "km"}, {"metre", "metres", "meter", "meters", "m"},
               {"kilogram", "kilograms", "kg", "kilo", "kilos"}, {"dollar", "dollars", "$", "usd"},
               {"euro", "euros", "€", "eur"}, {"pound", "pounds", "£"}, {"mile", "miles", "mi"},
               {"litre", "litres", "liter", "liters", "l"}, {"hour", "hours", "hr", "hrs"},
               {"minute", "minutes", "min", "mins"}, {"second", "seconds", "sec", "secs"}]
_NUMBER_TOKEN = re.compile(r"^\d+(?:[.,]\d+)*%?$")
_NUMBER_WORDS = frozenset("""one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred dozen""".split())
_SCALE_WORDS = frozenset("thousand thousands million millions billion billions trillion hundred hundreds".split())
_QUANTIFIERS = frozenset("more than less fewer over under about around nearly almost some up to at least most "
                         "roughly approximately estimated just only another additional extra".split())
_MONTHS = ("january february march april may june july august september october november december").split()
_DATE = re.compile(rf"\b(?:{'|'.join(_MONTHS)}|(?:1[5-9]|20)\d\d)\b", re.IGNORECASE)


@dataclass(frozen=True)
class MeaningVerdict:
    """The checks a sentence failed against its quote (none: it says what the quote says)."""

    failed: tuple[str, ...]

    @property
    def faithful(self) -> bool:
        """No check failed."""
        return not self.failed


def words(text: str) -> list[str]:
    """The words and numbers of ``text`` in order, lower-cased."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def content_stems(text: str) -> set[str]:
    """Stems of the words that carry content (function words left out)."""
    return {stem(w) for w in words(text) if w not in _FUNCTION and not w.endswith("n't")}


def restates_question(sentence: str, question: str) -> bool:
    """Every content word of the sentence comes from the question (or names nothing in particular:
    "for a number of reasons"): it repeats what was asked. A yes/no question is answered by its own
    words ("Did Russia send aid?" "Russia sent aid."), so those are left alone."""
    if not question or re.match(r"^\s*(?:is|are|was|were|do|does|did|has|have|had|will|would|can|could)\b", question,
                                re.IGNORECASE):
        return False
    own = content_stems(sentence) - _VAGUE
    return bool(content_stems(sentence)) and own <= content_stems(question)


def sentences_of(text: str) -> list[str]:
    """The text cut into sentences (roughly: at a full stop, question or exclamation mark and a space)."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'“0-9])", text) if s.strip()]


def clauses(text: str) -> list[str]:
    """The text cut into sentences, then at punctuation and at the words that start a new clause."""
    pieces: list[str] = []
    for sentence in sentences_of(text):
        pieces += re.split(r"[,;:()\u2013\u2014]|\s-\s|\b(?:but|while|whereas|although|though|however|and then|where|"
                           r"which)\b", sentence)
    return [p.strip() for p in pieces if p and p.strip()]


def _best(own: set[str], candidates: Sequence[str]) -> int:
    scores = [len(own & content_stems(c)) for c in candidates]
    return max(range(len(candidates)), key=lambda i: (scores[i], -i))


def aligned_clause(sentence: str, quote: str) -> str:
    """The clause of the quote that the sentence draws on most (by shared content words), with the
    clause before it when that one sets a condition ("if …, the US will respond")."""
    parts = clauses(quote)
    if not parts:
        return quote
    best = _best(content_stems(sentence), parts)
    picked = parts[best]
    if best > 0 and _CONDITION.search(parts[best - 1]):
        picked = parts[best - 1] + ", " + picked
    return picked


def aligned_sentence(sentence: str, quote: str) -> str:
    """The sentence of the quote that the (answer) sentence draws on most."""
    parts = sentences_of(quote) or [quote]
    return parts[_best(content_stems(sentence), parts)]


def claims_with_condition(sentence: str, quote: str) -> bool:
    """The quote's clause holds a condition the sentence drops."""
    clause = aligned_clause(sentence, quote)
    return bool(_CONDITION.search(clause)) and not _KEEPS_CONDITION.search(sentence)


def claims_as_fact(sentence: str, quote: str) -> bool:
    """The quote's clause says it may, will or should happen (or was vowed, feared, competed for…);
    the sentence states it as a fact, without a modal word or a reporting verb of its own."""
    clause = aligned_clause(sentence, quote)
    return bool(_MODAL.search(clause)) and not (_MODAL.search(sentence) or _REPORTING.search(sentence)
                                                 or _CONDITION.search(sentence) or _ABLE.search(sentence))


def _negated(tokens: Sequence[str]) -> tuple[set[str], set[str]]:
    """(stems of content words under a negation, stems of content words not under one)."""
    negated, plain = set(), set()
    last_negator = -10
    for i, token in enumerate(tokens):
        if token in _NEGATORS or token.endswith("n't"):
            last_negator = i
            continue
        if token in _FUNCTION or _NUMBER_TOKEN.match(token):
            continue
        # "not been suspended", "never fully recovered": a negator governs the next content word.
        (negated if 0 < i - last_negator <= 3 else plain).add(stem(token))
        if 0 < i - last_negator <= 3:
            last_negator = -10
    return negated, plain


def flips_polarity(sentence: str, quote: str) -> bool:
    """A word negated in one is affirmed in the other, or the sentence uses the opposite word."""
    mine_negated, mine_plain = _negated(words(sentence))
    theirs_negated, theirs_plain = _negated(words(quote))
    if (mine_negated & theirs_plain) - theirs_negated or (theirs_negated & mine_plain) - mine_negated:
        return True
    mine, theirs = mine_negated | mine_plain, theirs_negated | theirs_plain
    return any((a in mine and a not in theirs and b in theirs and b not in mine) or
               (b in mine and b not in theirs and a in theirs and a not in mine) for a, b in _OPPOSITE_STEMS)


def _entities(text: str) -> list[tuple[int, str]]:
    """Names (runs of capitalised words, "United States"), each as its last word's stem, with the
    position of that word: who and what the text names."""
    tokens = _WORD.findall(text)
    found: list[tuple[int, str]] = []
    for i, w in enumerate(tokens):
        if not (w[:1].isupper() and w.lower() not in _FUNCTION):
            continue
        head = (i, stem(re.sub(r"['’]s$", "", w.lower())))
        if found and found[-1][0] == i - 1 and not re.search(r"['’]s$", tokens[i - 1]):
            found[-1] = head          # the same name goes on ("United" "States")
        else:
            found.append(head)
    return found


def _verb_key(word: str) -> str:
    """Forms of one verb share their first four letters ("beat", "beaten"; "sanction", "sanctions")."""
    return word.lower()[:4]


def _roles(text: str, verbs: set[str], names: set[str]) -> dict[str, tuple[str, str]]:
    """For each shared verb: (agent, patient) read from the order of the names around it, passive
    voice ("… was sanctioned by X") read the other way round."""
    tokens = _WORD.findall(text)
    positions = [(i, s) for i, s in _entities(text) if s in names]
    roles = {}
    for v, token in enumerate(tokens):
        key = _verb_key(token)
        if key not in verbs or token[:1].isupper():
            continue
        before = [s for i, s in positions if i < v]
        after = [s for i, s in positions if i > v]
        if not before or not after:
            continue
        agent, patient = before[-1], after[0]
        if _PASSIVE.search(" ".join(tokens[max(0, v - 3):v + 2])):
            agent, patient = patient, agent
        if agent != patient:
            roles[key] = (agent, patient)
    return roles


def swaps_roles(sentence: str, quote: str) -> bool:
    """Two names around a verb that both texts share stand the other way round in the sentence."""
    clause = aligned_sentence(sentence, quote)
    names = {s for _, s in _entities(sentence)} & {s for _, s in _entities(clause)}
    if len(names) < 2:
        return False
    verbs = {_verb_key(w) for w in words(sentence) if w not in _FUNCTION and len(w) > 3} & \
            {_verb_key(w) for w in words(clause) if w not in _FUNCTION and len(w) > 3}
    mine, theirs = _roles(sentence, verbs, names), _roles(clause, verbs, names)
    return any(v in theirs and mine[v] == tuple(reversed(theirs[v])) for v in mine)


def _numbers(text: str) -> set[str]:
    """The numbers of a text as plain digits (words too: "two hundred and thirty" is 230)."""
    found = {w.replace(",", "").rstrip("%") for w in words(text) if _NUMBER_TOKEN.match(w)}
    found.update(str(value) for value, _, _ in spelled_numbers(text))
    return found


def misplaces_numbers(sentence: str, quote: str) -> bool:
    """A number or date of the sentence belongs to another fact of the quote: the quote's clauses that
    hold it share far fewer words with the sentence's clause than the clause it draws on ("just over
    200 paddled across the line at Swan Hill" is not "230 paddled"; the loan was approved in
    February, and Patrushev visited in October)."""
    quote_clauses = clauses(quote)
    for clause in clauses(sentence):
        anchors = {("n", n) for n in _numbers(clause)} | {("d", d.lower()) for d in _DATE.findall(clause)}
        if not anchors or not quote_clauses:
            continue
        own = content_stems(clause) - {a for _, a in anchors}
        overlap = [len(own & content_stems(c)) for c in quote_clauses]
        holding = [i for i, c in enumerate(quote_clauses)
                   if anchors <= {("n", n) for n in _numbers(c)} | {("d", d.lower()) for d in _DATE.findall(c)}]
        if holding and max(overlap[i] for i in holding) * 2 < max(overlap):
            return True
    return False


def _counted(tokens: Sequence[str], index: int, width: int) -> list[str]:
    """The content words after the number at ``index`` (its unit and what it counts)."""
    out = []
    for w in tokens[index + 1:index + 1 + width]:
        if w in _SCALE_WORDS or w in _QUANTIFIERS or w in _FUNCTION or _NUMBER_TOKEN.match(w):
            continue
        out.append(w)
    return out


def _same_unit(a: str, b: str) -> bool:
    return stem(a) == stem(b) or any(a in forms and b in forms for forms in _UNIT_FORMS)


def _number_value(token: str) -> str:
    return token.replace(",", "").rstrip(".%")


def miscounts(sentence: str, quote: str, same: Callable[[str, str], bool] | None = None) -> bool:
    """A number of the sentence counts something its quote does not count with that number: "100 tons
    of gold" against "100 tons of humanitarian aid", "88 planes" against "88 tons"."""
    same = same or _same_unit
    mine, theirs = words(sentence), words(quote)
    for i, w in enumerate(mine):
        if not _NUMBER_TOKEN.match(w):
            continue
        if i + 2 < len(mine) and mine[i + 1] in ("to", "and", "-", "or") and _NUMBER_TOKEN.match(mine[i + 2]):
            continue                                            # "15 to 24": the range counts what follows it
        counted = _counted(mine, i, 3)[:1]
        if i + 3 < len(mine) and mine[i + 2] == "of":          # "100 tons of gold": what the unit measures
            counted += _counted(mine, i + 2, 2)[:1]
        places = [j for j, t in enumerate(theirs) if _number_value(t) == _number_value(w)]
        if not counted or not places:
            continue   # the number itself is checked elsewhere (names and numbers must be in the quote)
        windows = [_counted(theirs, j, 8) for j in places]
        if not any(all(any(same(c, t) for t in window) for c in counted) for window in windows):
            return True
    return False


class MeaningChecker:
    """Runs every check; the embedding model tells a synonym ("aid" for "support") from a new word."""

    def __init__(self, embeddings: Embeddings | None = None, word_similarity: float = 0.5,
                 max_new_words: int = 2) -> None:
        self.embeddings = embeddings
        self.word_similarity = word_similarity
        self.max_new_words = max_new_words

    def same_thing(self, a: str, b: str) -> bool:
        """Two words name the same unit or thing: equal stems, forms of one unit, or close in meaning."""
        if _same_unit(a, b):
            return True
        return self._similarity([a], [b]).max(initial=0.0) >= self.word_similarity

    def _similarity(self, left: Sequence[str], right: Sequence[str]) -> np.ndarray:
        if self.embeddings is None or not left or not right:
            return np.zeros((len(left), len(right)), dtype=np.float32)
        vectors = np.asarray(self.embeddings.embed_documents([*left, *right]), dtype=np.float32)
        return vectors[:len(left)] @ vectors[len(left):].T

    def new_words(self, sentence: str, quote: str, question: str = "") -> list[str]:
        """Content words of the sentence that neither the quote nor the question holds, nor a word
        close to them in meaning."""
        known = {stem(w) for w in words(quote) + words(question)}
        own = [w for w in dict.fromkeys(words(sentence)) if w not in _FUNCTION and w not in _PARTICLES
               and not _NUMBER_TOKEN.match(w)
               and stem(w) not in known and stem(w) not in _VAGUE and len(w) > 2]
        if not own:
            return []
        pool = [w for w in dict.fromkeys(words(quote) + words(question)) if w not in _FUNCTION and len(w) > 2]
        similarity = self._similarity(own, pool)
        return [w for row, w in enumerate(own) if similarity.shape[1] == 0 or similarity[row].max() < self.word_similarity]

    def adds(self, sentence: str, quote: str, question: str = "") -> bool:
        """The sentence asserts a cause the quote does not give, or brings in several new content words."""
        if _ASSERTED_CAUSE.search(sentence) and not _ANY_CAUSE.search(quote):
            return True
        return len(self.new_words(sentence, quote, question)) > self.max_new_words

    def check(self, sentence: str, quote: str, question: str = "") -> MeaningVerdict:
        """Every check of a sentence against the quote that is to support it; the failed ones, named."""
        failed = []
        if restates_question(sentence, question):
            failed.append("restatement")
        if claims_with_condition(sentence, quote):
            failed.append("condition")
        elif claims_as_fact(sentence, quote):
            failed.append("modality")
        if flips_polarity(sentence, quote):
            failed.append("negation")
        if swaps_roles(sentence, quote):
            failed.append("agent")
        if misplaces_numbers(sentence, quote) or miscounts(sentence, quote, self.same_thing):
            failed.append("number")
        if self.adds(sentence, quote, question):
            failed.append("addition")
        return MeaningVerdict(tuple(failed))


def check_meaning(sentence: str, quote: str, question: str = "") -> MeaningVerdict:
    """The checks without an embedding model (counted things compared by their words)."""
    return MeaningChecker().check(sentence, quote, question)
