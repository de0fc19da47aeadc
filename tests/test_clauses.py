from corpus.split import split_sentences
from embeddings.answering.clauses import CLAUSE_END
from embeddings.answering.slots import answer_phrase


def _marks(text: str) -> str:
    return "".join(text[m.start()] for m in CLAUSE_END.finditer(text))


def test_a_clause_does_not_end_inside_brackets():
    text = "分为六个区域总部（东部、中部，南部），各有职责。见《论语，学而》：学而时习之。"
    assert _marks(text) == "，。：。"
    assert CLAUSE_END.search(text).start() == text.index("），") + 1


def test_an_unclosed_or_stray_bracket_encloses_nothing():
    assert _marks("简称（CAST，隶属于集团。") == "，。"  # the passage cut before it closes
    assert _marks("CAST）隶属于集团，是机构。") == "，。"  # the sentence starts inside it


def test_the_phrase_shown_keeps_an_aside_whole():
    sentence = "现时行驶该线的巴士主要为富豪B9TL（95xx，低地台）和Enviro 500。"
    lo, hi = answer_phrase(sentence, sentence.index("富豪"), sentence.index("（"), 60)
    assert "（95xx，低地台）" in sentence[lo:hi]


def test_a_sentence_does_not_end_inside_brackets():
    text = "西湾河电车厂（简称西电；1989年启用）是电车车厂。它位于西湾河。"
    assert split_sentences(text) == ["西湾河电车厂（简称西电；1989年启用）是电车车厂。", "它位于西湾河。"]
    assert split_sentences("简称（西电；又称。") == ["简称（西电；", "又称。"]  # never closed: an ordinary cut
