"""The Telegram front end: python-telegram-bot v22 handlers over the engine, one job per module.

- ``app``: the Application, its handlers in one table, the gate, the button router, ``run_bot``
- ``questions``: the question path (and /start, /help, /new, inline mode, "More results")
- ``admin``: documents, /reindex, /stats, /feedback
- ``buttons``: callback data written and read back as typed presses
- ``state``: what the handlers share (``BotState``) and read of an update
- ``feedback``, ``fluent``: 👍/👎 and comments; a language model's answer shown by edits

Handlers are thin: check, parse, ``await asyncio.to_thread(engine...)``, format, reply.
"""
