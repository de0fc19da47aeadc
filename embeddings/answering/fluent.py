"""Optional fluent answers from a language model the user runs (any OpenAI-compatible
``/v1/chat/completions`` endpoint: Ollama, vLLM, a llama.cpp server, OpenAI), checked against
the passages before anything is shown.

The extractive answer is composed first, as always; ``FluentComposer`` (a ``Composer``) attaches
to an answered question a way to write the fluent one (``Answer.fluent``), which the front end
calls after showing the extractive answer. The model gets the question, the extractive answer
and the best passages, numbered, and is asked to answer in the question's language, citing the
passages as [1], [2]. Every sentence it writes is checked as it completes: a sentence that cites
no passage, or whose names, numbers, dates or quoted phrases are not in the passages it cites,
is dropped. When too little survives, or the endpoint fails (down, 429, timeout, garbage), the
result says so and the extractive answer stays. A declined question never reaches the model.

Hand-written over httpx rather than the ``openai`` client: one request shape (documented by
OpenAI and implemented by every server above) and its server-sent events are a few lines, and
httpx is already here (python-telegram-bot uses it).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import httpx

from corpus.clean import match_form
from corpus.model import Passage
from embeddings.answering import extract
from embeddings.answering.model import Answer, Fluent
from embeddings.lexical import latin_pinyin_terms, pinyin_terms

log = logging.getLogger(__name__)


class FluentProblem(RuntimeError):
    """The endpoint failed or answered something that is not a chat completion."""


@dataclass(frozen=True)
class LLMConfig:
    url: str  # the API base, e.g. http://localhost:11434/v1 (…/chat/completions is added)
    model: str
    api_key: str = field(default="", repr=False)
    timeout: float = 20.0  # seconds for the whole answer
    passages: int = 4  # passages given to the model

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


class ChatEndpoint:
    """One OpenAI-compatible chat-completions endpoint; streams when the endpoint streams."""

    def __init__(self, config: LLMConfig, transport: httpx.BaseTransport | None = None):
        self.config = config
        self._client = httpx.Client(transport=transport, timeout=httpx.Timeout(config.timeout, connect=5.0))

    def __repr__(self) -> str:  # the key never reaches a log line
        return f"ChatEndpoint({self.config.endpoint!r}, model={self.config.model!r})"

    def complete(self, messages: list[dict]) -> Iterator[str]:
        """The answer's text in pieces as they come; raises FluentProblem."""
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        body = {"model": self.config.model, "messages": messages, "stream": True, "temperature": 0}
        waited = 0.0  # on the endpoint: the time the caller spends on each piece does not count
        try:
            with self._client.stream("POST", self.config.endpoint, json=body, headers=headers) as response:
                if response.status_code != 200:
                    raise FluentProblem(f"the endpoint answered HTTP {response.status_code}")
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    response.read()  # a server that does not stream answers in one JSON object
                    yield _content(_json(response.text), "message")
                    return
                lines = response.iter_lines()
                while True:
                    start = time.monotonic()
                    line = next(lines, None)
                    waited += time.monotonic() - start
                    if line is None:
                        return
                    if waited > self.config.timeout:
                        raise FluentProblem(f"no complete answer within {self.config.timeout:.0f} s")
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    piece = _content(_json(data), "delta")
                    if piece:
                        yield piece
        except httpx.TimeoutException as e:
            raise FluentProblem(f"timed out ({type(e).__name__})") from e
        except httpx.HTTPError as e:
            raise FluentProblem(f"cannot reach the endpoint ({type(e).__name__})") from e


def _json(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as e:
        raise FluentProblem("the endpoint answered something that is not JSON") from e
    if not isinstance(value, dict):
        raise FluentProblem("the endpoint answered JSON that is not a chat completion")
    return value


def _content(value: dict, key: str) -> str:
    try:
        content = value["choices"][0][key].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise FluentProblem("the endpoint answered JSON that is not a chat completion") from e
    if not isinstance(content, str):
        raise FluentProblem("the endpoint answered JSON that is not a chat completion")
    return content


# --- the prompt -----------------------------------------------------------------------------

_LANGUAGES = {"en": "English", "zh-Hans": "simplified Chinese", "zh-Hant": "traditional Chinese"}


def messages_for(answer: Answer, passages: list[Passage]) -> list[dict]:
    """The model's instructions: the question, the extractive answer, the numbered passages."""
    language = _LANGUAGES.get(answer.script, "the question's language")
    numbered = "\n".join(f"[{n}] ({p.citation}) {p.text}" for n, p in enumerate(passages, 1))
    system = (f"You answer questions about documents using only the numbered passages given. Answer in {language}, "
              "in one to four short sentences. End every sentence with the numbers of the passages it uses, "
              "like [1] or [1][2]. Copy names, numbers and dates exactly as the passages write them. Never add "
              "anything the passages do not say.")
    user = f"Question: {answer.question}\nExtracted answer: {answer.direct}\n\nPassages:\n{numbered}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def passages_for(answer: Answer, count: int) -> list[Passage]:
    """The best ``count`` passages in their order, and any other the extractive answer cites."""
    out = [h.passage for h in answer.hits[:count]]
    return out + [p for p in dict.fromkeys(p.passage for p in answer.points) if p not in out]


# --- the check --------------------------------------------------------------------------------

_CITE = re.compile(r"\[(\d{1,2})\]|【(\d{1,2})】")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"“([^”]{2,})”|「([^」]{2,})」|\"([^\"]{2,})\"|《([^》]{2,})》")
_HAN_PAIR = re.compile(r"(?=([\u3400-\u9fff]{2}))")
MIN_SHARED_WORDING = 0.4  # of a Chinese sentence's character pairs that its passages must hold


@dataclass(frozen=True)
class Checked:
    text: str  # the sentence as shown (its citations kept)
    cited: tuple[int, ...]  # passage numbers (1-based)
    problem: str  # "" when it holds


def check(sentence: str, passages: list[Passage]) -> Checked:
    """Whether every name, number, date and quoted phrase of ``sentence`` is in the passages
    it cites (and, in Chinese, most of its wording)."""
    cited = tuple(dict.fromkeys(int(a or b) for a, b in _CITE.findall(sentence)))
    text = sentence.strip()
    if not cited:
        return Checked(text, cited, "cites no passage")
    if any(not 1 <= n <= len(passages) for n in cited):
        return Checked(text, cited, "cites a passage it was not given")
    claim = match_form(_CITE.sub("", sentence))
    source = match_form(" ".join(passages[n - 1].text for n in cited))
    compact_source = source.replace(" ", "")
    for number in _NUMBER.findall(claim):
        if number not in source:
            return Checked(text, cited, f"{number} is not in the passages it cites")
    for groups in _QUOTED.findall(claim):
        quoted = next(g for g in groups if g).replace(" ", "")
        if quoted not in compact_source:
            return Checked(text, cited, f"“{quoted}” is not in the passages it cites")
    for person in extract.people(claim):
        if person.text.lower() not in source:
            return Checked(text, cited, f"{person.text} is not in the passages it cites")
    spelled = latin_pinyin_terms(claim)  # names written in pinyin (an English answer)
    if spelled:
        known = set(pinyin_terms(source))
        missing = [s for s in spelled if s not in known and s not in source]
        if missing and not known.intersection(spelled):
            return Checked(text, cited, f"{max(missing, key=len)} is not named in the passages it cites")
    pairs = _HAN_PAIR.findall(claim)
    if len(pairs) >= 4:
        shared = sum(1 for p in pairs if p in compact_source) / len(pairs)
        if shared < MIN_SHARED_WORDING:
            return Checked(text, cited, f"only {shared:.0%} of its wording is in the passages it cites")
    return Checked(text, cited, "")


def sentences_in(text: str) -> tuple[list[str], str]:
    """The complete sentences of ``text`` (citations kept with their sentence) and the rest.
    Not ``corpus.split.split_sentences``: that cuts a whole text, and would leave a "[1]" written
    after the full stop as a sentence of its own and a half-received sentence as a whole one."""
    parts, start = [], 0
    for m in re.finditer(r"(?:[。！？!?]|\.(?=\s|$))(?:\s*(?:\[\d{1,2}\]|【\d{1,2}】))*|(?:\[\d{1,2}\]|【\d{1,2}】)+(?=\s)",
                         text):
        end = m.end()
        if text[start:end].strip():
            parts.append(text[start:end].strip())
        start = end
    return parts, text[start:]


# --- writing ----------------------------------------------------------------------------------

def write(answer: Answer, endpoint: ChatEndpoint) -> Iterator[Fluent]:
    """The fluent answer as it is written: a snapshot each time a checked sentence is added,
    then the final one (``done``), whose ``problem`` says why it is not to be shown, if so."""
    passages = passages_for(answer, endpoint.config.passages)
    kept: list[Checked] = []
    dropped: list[Checked] = []
    buffer = ""

    def snapshot(done: bool, problem: str = "", failed: bool = False) -> Fluent:
        used = tuple(dict.fromkeys(n for c in kept for n in c.cited))
        return Fluent(" ".join(c.text for c in kept), tuple(passages[n - 1] for n in used), used, done, problem,
                      tuple(f"{c.text} — {c.problem}" for c in dropped), failed)

    def take(sentence: str) -> bool:
        c = check(sentence, passages)
        (dropped if c.problem else kept).append(c)
        if c.problem:
            log.info("Fluent answer: dropped a sentence (%s)", c.problem)
        return not c.problem

    try:
        for piece in endpoint.complete(messages_for(answer, passages)):
            buffer += piece
            complete, buffer = sentences_in(buffer)
            if sum(take(s) for s in complete) and not dropped:
                yield snapshot(False)
        if buffer.strip():
            take(buffer)
    except FluentProblem as e:
        log.warning("Fluent answer not used: %s", e)
        yield snapshot(True, str(e), failed=True)
        return
    if not kept:
        yield snapshot(True, "no sentence of the model's answer holds against the passages")
    elif len(dropped) > len(kept):
        yield snapshot(True, f"{len(dropped)} of {len(kept) + len(dropped)} sentences did not hold")
    else:
        yield snapshot(True)


class FluentComposer:
    """A ``Composer``: the inner (extractive) composer's answer, with ``fluent`` set on answered
    questions so that the front end can have the model write it after showing this one."""

    def __init__(self, inner, endpoint: ChatEndpoint):
        self.inner = inner
        self.endpoint = endpoint

    def __getattr__(self, name: str):  # wants_more_hits, selector, encoder...: the inner composer's
        return getattr(self.inner, name)

    def answer(self, question, hits, bm25, query_vector=None, exclude=frozenset()) -> Answer:
        answer = self.inner.answer(question, hits, bm25, query_vector, exclude)
        if not answer.answered:
            return answer  # "not in the documents" stays: the model never sees it
        return replace(answer, fluent=_Writer(answer, self.endpoint))


@dataclass(frozen=True)
class _Writer:
    """``Answer.fluent``: calling it writes the fluent answer (a generator of snapshots)."""

    answer: Answer
    endpoint: ChatEndpoint

    def __call__(self) -> Iterator[Fluent]:
        return write(self.answer, self.endpoint)


def final(stream: Callable[[], Iterator[Fluent]]) -> Fluent:
    """The last snapshot: the fluent answer whole (or why there is none)."""
    return deque(stream(), maxlen=1)[0]
