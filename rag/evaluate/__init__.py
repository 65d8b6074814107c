"""Evaluation: question sets run through a RAG, scored into flat dicts of metrics.

``load_questions`` reads a JSONL question set; ``Evaluator(questions)(rag)`` returns metrics like
{"hit@5": 0.97, "answer_accuracy": 0.9, ...}, overall and ``<type>/<metric>``; ``metrics`` holds the
standard-library scoring functions and ``summarize`` the one aggregation every runner shares.
"""

from rag.evaluate.evaluator import Evaluator, compare, summarize
from rag.evaluate.questions import Question, load_questions

__all__ = ["Evaluator", "Question", "compare", "load_questions", "summarize"]
