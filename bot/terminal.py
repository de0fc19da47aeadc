"""The terminal chat: the same engine and answers as the bot."""

from __future__ import annotations

import sys

from bot.checks import question_problem, tidy_question
from bot.messages import say
from bot.render import render_fluent_plain, render_plain
from bot.settings import Settings
from embeddings.answering.fluent import final
from embeddings.answering.followup import Conversation


def chat(engine, settings: Settings, stdin=sys.stdin, stdout=sys.stdout) -> int:
    info = engine.info()
    print(f"Ask about {info.documents} document(s), {info.passages} passages. "
          "Follow-up questions are read in context; /new starts a new topic. Empty line or Ctrl-D to quit.",
          file=stdout)
    conversation = Conversation()  # follow-up questions are read in context; /new forgets it
    while True:
        print("\n? ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line or not line.strip():
            return 0
        question = tidy_question(line)
        if question in ("/new", "/reset"):
            conversation.clear()
            print("New topic.", file=stdout, flush=True)
            continue
        problem = question_problem(question, settings.max_question_chars)
        if problem:
            print(say(problem[0], "en", **problem[1]), file=stdout, flush=True)
            continue
        answer = engine.answer(question, settings.top_k, conversation)
        print(render_plain(answer), file=stdout, flush=True)
        if answer.fluent is not None:  # a language model's answer, when it holds against the passages
            fluent = final(answer.fluent)
            if fluent.shown:
                print("\n" + render_fluent_plain(answer, fluent), file=stdout, flush=True)
