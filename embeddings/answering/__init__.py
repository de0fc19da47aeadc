"""Answering: question analysis (``question``), candidate extraction per answer type
(``extract``), the gate that declines what the documents do not answer (``gate``), and
the composer that puts an answer together (``compose``)."""

from embeddings.answering.compose import Composer, ComposerParams, ExtractiveComposer
from embeddings.answering.gate import GateParams
from embeddings.answering.model import Answer, AnswerKind, Evidence, Point
from embeddings.answering.question import AnswerType, QuestionAnalysis, analyse

__all__ = ["Answer", "AnswerKind", "AnswerType", "Composer", "ComposerParams", "Evidence", "ExtractiveComposer",
           "GateParams", "Point", "QuestionAnalysis", "analyse"]
