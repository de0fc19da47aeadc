"""Questions about a namesake that the documents do not have, made from the training questions.

A question names its article's subject ("大沙地站在哪里？"); the same question about a thing whose
name differs in a character or two and that no document mentions ("大沙东站在哪里？") is not
answered by the article, although the article is what a search finds and every other word of the
question is in it. Collections of similar articles hold many such near-namesakes (stations of
one line, species of one genus, counties of one country), and a user's question about one the
collection lacks must be refused; the "article left out" cases of training rarely meet one (the
other articles of a training set are seldom that alike), so these cases show the gate what one
looks like. The same way of making unanswerable questions by changing the entity (swapping it
for a similar one) is how part of SQuAD 2.0's were written.

The name changed is the article's title where the question writes it, without a parenthesised
qualifier; one or two of its characters (never the last, which most often says what kind of thing
it is: 站, 郡, 鳗) are replaced by characters of other titles of the same set, and the result must
not occur in the set's documents.
"""

from __future__ import annotations

import random
import re

from corpus.clean import to_simplified
from embeddings.answering.question import HAN_CHAR

_QUALIFIER = re.compile(r"\s*[(（_].*$")


def core_title(title: str) -> str:
    """A title without its qualifier ("夜来香 (夹竹桃科)" -> 夜来香, "天空_（英国）" -> 天空), simplified."""
    return to_simplified(_QUALIFIER.sub("", title).strip())


def namesake_question(question: str, title: str, alphabet: str, corpus_text: str, rng: random.Random) -> str | None:
    """``question`` (simplified) about a near-namesake of ``title`` that ``corpus_text`` (simplified)
    never writes, or None when the question does not name the title (three Chinese characters
    at least) or no such name was found in a few tries. ``alphabet``: the characters to draw from."""
    name = core_title(title)
    if len(HAN_CHAR.findall(name)) < 3 or name not in question:
        return None
    positions = [i for i, ch in enumerate(name[:-1]) if HAN_CHAR.match(ch)]  # two at least
    for _ in range(5):
        changed = list(name)
        for i in rng.sample(positions, min(len(positions), 1 if len(name) <= 4 else 2)):
            changed[i] = rng.choice(alphabet)
        other = "".join(changed)
        if other != name and other not in corpus_text:
            return question.replace(name, other)
    return None
