"""The answering stage: from retrieved passages to a checked, cited Answer (or "the articles don't say").

``flow`` reads the question once and chooses the path: ``parts`` for a question naming several articles,
``single`` for one answer from the passages (prompt, reply, grounding, signals, the second look, the
policy). ``grounding`` holds every answer to the words of its quote; ``policy`` decides what is withheld.
"""

from rag.answer.draft import Draft
from rag.answer.flow import Flow, Run
from rag.answer.question import Asked
from rag.answer.single import Answerer, encoded_once
from rag.answer.types import NOT_IN_ARTICLES, Answer, AnswerSentence, Citation

__all__ = ["NOT_IN_ARTICLES", "Answer", "AnswerSentence", "Answerer", "Asked", "Citation", "Draft", "Flow", "Run",
           "encoded_once"]
