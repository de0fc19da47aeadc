"""The ``qabot`` command: build the index, ask, chat, evaluate, serve the Telegram bot."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from bot.settings import Settings, SettingsError
from corpus.errors import QabotError

log = logging.getLogger("qabot")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qabot", description="Answer questions about a collection of documents.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", type=Path, help="documents directory (QABOT_CORPUS_DIR, default corpus/documents)")
    common.add_argument("--index", type=Path, help="index directory (QABOT_INDEX_DIR, default data/index)")
    common.add_argument("--model", help="sentence-transformers model name or path (EMBEDDING_MODEL)")
    common.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)

    idx = sub.add_parser("index", help="manage the index").add_subparsers(dest="action", required=True)
    idx.add_parser("build", parents=[common], help="rebuild the index from the corpus")

    ask = sub.add_parser("ask", parents=[common], help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=int, help="passages to retrieve (QABOT_TOP_K)")
    ask.add_argument("--json", action="store_true", help="print hits and answer as JSON")

    sub.add_parser("chat", parents=[common], help="ask questions in the terminal")

    add = sub.add_parser("add", parents=[common], help="add documents (PDF, Word, HTML, Markdown, text) to the corpus")
    add.add_argument("files", nargs="+", type=Path)
    add.add_argument("--reindex", action="store_true", help="rebuild the index afterwards")
    sub.add_parser("docs", parents=[common], help="list the documents")
    rm = sub.add_parser("remove", parents=[common], help="remove a document (moved to the data folder's trash)")
    rm.add_argument("id", help="the document's number or id, as 'qabot docs' shows them")

    ev = sub.add_parser("eval", parents=[common], help="evaluate on a question set (JSONL)")
    ev.add_argument("file", type=Path)
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--gate-open", action="store_true",
                    help="answer whatever is found (the gate's threshold at 0): what the answer step alone would say")

    fb = sub.add_parser("feedback", help="what users rated and what went unanswered").add_subparsers(
        dest="action", required=True)
    export = fb.add_parser("export", parents=[common],
                           help="write 👍 answers and declined questions as a question set for 'qabot eval'")
    export.add_argument("file", type=Path)

    serve = sub.add_parser("serve", parents=[common], help="run the Telegram bot")
    serve.add_argument("--webhook-url", help="use a webhook at this public URL instead of long polling")
    serve.add_argument("--port", type=int, default=8443, help="webhook listening port")
    serve.add_argument("--listen", default="0.0.0.0", help="webhook listening address")
    serve.add_argument("--api-base-url", help="Bot API server (TELEGRAM_API_BASE_URL)")

    sub.add_parser("run", parents=[common], help="the bot if TELEGRAM_BOT_TOKEN is set, else the terminal chat")
    return p


def new_engine(settings: Settings, gate_open: bool = False):
    """The engine for ``settings``, no index loaded yet; ``gate_open`` lets every found answer
    through (evaluation runs that calibrate the gate)."""
    # Imported here: `qabot --help` and settings errors should not wait for torch.
    from embeddings.answering import ComposerParams, GateParams
    from embeddings.encoders.encoder import load_encoder
    from embeddings.engine import Engine, EngineConfig
    from embeddings.store import open_store

    encoder = load_encoder(settings.model, settings.data_dir, threads=settings.encoder_threads or None,
                           backend=settings.encoder_backend)
    answer = ComposerParams(gate=GateParams.open()) if gate_open else ComposerParams()
    config = EngineConfig(settings.corpus_dir, settings.index_path, settings.data_dir, answer=answer)
    engine = Engine(config, encoder, store=open_store(settings.vector_store, config.index, settings.milvus_token))
    if settings.llm_url:  # the extractive answer with a language model's fluent one attached
        from embeddings.answering.fluent import ChatEndpoint, FluentComposer, LLMConfig

        llm = LLMConfig(settings.llm_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout)
        engine.composer = FluentComposer(engine.composer, ChatEndpoint(llm))
    return engine


def make_engine(settings: Settings, gate_open: bool = False):
    """The engine for ``settings``, with its index loaded (built first when missing)."""
    engine = new_engine(settings, gate_open)
    engine.warm_up()
    report = engine.load_or_build(_progress_bar())
    if report:
        print(_summary(report), file=sys.stderr)
    if engine.is_stale():
        log.warning("The documents changed since the index was built: run 'qabot index build' (or /reindex)")
    return engine


def _progress_bar():
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="embedding passages", unit="passage", file=sys.stderr)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _summary(report) -> str:
    lines = [f"Indexed {report.documents} document(s), {report.passages} passages "
             f"({report.embedded} embedded, {report.passages - report.embedded} from cache) "
             f"in {report.seconds:.1f}s; index: {report.index_type}.",
             "Time: " + ", ".join(f"{name} {s:.1f}s" for name, s in report.stages.items()) + ".",
             f"Documents: {report.changes.summary()}.",
             f"Cleaning: {report.pinyin_removed} pinyin annotations removed, "
             f"{report.mojibake_repaired} mojibake spans repaired, {report.mojibake_marked} marked as damaged."]
    lines += [f"Skipped {p}" for p in report.problems]
    return "\n".join(lines)


def cmd_build(settings: Settings) -> int:
    print(_summary(new_engine(settings).rebuild(_progress_bar())))
    return 0


def cmd_ask(settings: Settings, question: str, as_json: bool) -> int:
    from bot.checks import question_problem, tidy_question
    from bot.render import render_fluent_plain, render_plain
    from embeddings.answering.fluent import final

    question = tidy_question(question)
    problem = question_problem(question, settings.max_question_chars)
    if not question:
        raise SettingsError("the question is empty")
    if problem == ("no_words", {}):
        raise SettingsError("the question has no words (letters, digits or Chinese characters)")
    if problem:
        raise SettingsError(f"the question is too long: {len(question)} characters, "
                            f"at most {settings.max_question_chars} (QABOT_MAX_QUESTION_CHARS)")
    engine = make_engine(settings)
    answer = engine.answer(question, settings.top_k)
    fluent = final(answer.fluent) if answer.fluent else None
    if as_json:
        print(json.dumps({
            "question": question, "answered": answer.answered, "kind": answer.kind.value,
            "type": answer.type.value if answer.type else None, "direct": answer.direct, "reason": answer.reason,
            "answer": render_plain(answer),
            "fluent": {"text": fluent.text, "shown": fluent.shown, "problem": fluent.problem,
                       "cited": [p.id for p in fluent.cited], "dropped": list(fluent.dropped)} if fluent else None,
            "points": [{"text": p.text, "citation": p.passage.citation, "passage_id": p.passage.id} for p in answer.points],
            "hits": [{"rank": h.rank, "score": round(h.score, 4), "dense": round(h.dense, 4),
                      "lexical": round(h.lexical, 4), "passage_id": h.passage.id, "citation": h.passage.citation,
                      "section": h.passage.section, "text": h.passage.text} for h in answer.hits],
        }, ensure_ascii=False, indent=2))
    else:
        print(render_plain(answer))
        if fluent and fluent.shown:
            print("\n" + render_fluent_plain(answer, fluent))
    return 0


def _indexed(settings: Settings) -> dict:
    """What the index on disk knows of each document (empty when there is none yet)."""
    from embeddings.index.manifest import IndexProblem, indexed_documents, read_manifest

    try:
        return indexed_documents(read_manifest(settings.index_path)[1])
    except IndexProblem:
        return {}


def cmd_add(settings: Settings, paths: list[Path], reindex: bool) -> int:
    from corpus.errors import QabotError
    from corpus.library import add_document

    indexed = [doc for doc, _ in _indexed(settings).values()]
    failures = 0
    for path in paths:
        try:
            added = add_document(settings.corpus_dir, path.name, path.read_bytes(), indexed,
                                 settings.max_upload_mb * 2**20)
        except (QabotError, OSError) as e:
            print(f"Not added {path}: {e}", file=sys.stderr)
            failures += 1
            continue
        d = added.document
        parts = f"{d.pages} pages" if d.pages else f"{d.paragraphs} paragraphs"
        print(f"Added {d.doc_id}: “{d.title}”, {parts}, {added.passages} passages.")
        indexed.append(d)
    if reindex and failures < len(paths):
        return cmd_build(settings)
    if failures < len(paths):
        print("Run 'qabot index build' (or /reindex in the chat) to make them searchable.")
    return 1 if failures else 0


def cmd_docs(settings: Settings) -> int:
    from corpus.library import catalog

    entries = catalog(settings.corpus_dir, _indexed(settings))
    if not entries:
        print(f"No documents in {settings.corpus_dir}.")
    for e in entries:
        added = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.added)) if e.added else "-"
        passages = f"{e.passages} passages" if e.passages is not None else "-"
        state = "" if e.state == "indexed" else f"  [{e.state}]"
        print(f"{e.number:>3}. {e.title}  ({e.doc_id}, {e.size / 1024:.0f} KB, {passages}, {added}){state}")
    return 0


def cmd_remove(settings: Settings, ref: str) -> int:
    from corpus.library import catalog, find_entry, remove_document

    entry = find_entry(catalog(settings.corpus_dir, _indexed(settings)), ref)
    moved = remove_document(settings.corpus_dir, entry.doc_id, settings.trash_dir)
    print(f"Removed {entry.doc_id} (“{entry.title}”); the file is in {moved}. "
          "Run 'qabot index build' to drop it from the index.")
    return 0


def cmd_chat(settings: Settings) -> int:
    from bot.terminal import chat

    return chat(make_engine(settings), settings)


def cmd_eval(settings: Settings, path: Path, as_json: bool, gate_open: bool = False) -> int:
    from embeddings.evaluate import evaluate, format_report, read_questions

    if not path.exists():
        raise SettingsError(f"question file {path} does not exist")
    questions = read_questions(path)
    engine = make_engine(settings, gate_open)
    start = time.perf_counter()
    result = evaluate(engine, questions)
    result["seconds"] = round(time.perf_counter() - start, 2)
    print(json.dumps(result, ensure_ascii=False, indent=2) if as_json else format_report(result))
    return 0


def cmd_serve(settings: Settings, webhook_url: str | None, port: int, listen: str = "0.0.0.0") -> int:
    from bot.telegram.app import run_bot

    settings.require_token()
    return run_bot(settings, make_engine(settings), webhook_url=webhook_url, port=port, listen=listen)


def cmd_feedback_export(settings: Settings, path: Path) -> int:
    from bot.feedback import DB_FILE, FeedbackStore  # noqa: PLC0415

    if not (settings.data_dir / DB_FILE).exists():
        raise QabotError(f"no feedback recorded in {settings.data_dir} yet")
    store = FeedbackStore(settings.data_dir, settings.feedback_days, read_only=True)
    try:
        rows = store.export()
    finally:
        store.close()
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    rated = sum(1 for r in rows if "answer_contains" in r)
    print(f"Wrote {len(rows)} questions to {path}: {rated} answers rated 👍, {len(rows) - rated} declined "
          f"(\"expect\": \"no_answer\", to review). Run: qabot eval {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL, and Telegram URLs contain the bot token.
    for noisy in ("httpx", "httpcore", "sentence_transformers", "transformers", "jieba", "faiss", "milvus_lite",
                  "pymilvus"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env().override(
            corpus_dir=args.corpus, index_dir=args.index, model=args.model,
            top_k=getattr(args, "top_k", None), api_base_url=getattr(args, "api_base_url", None))
        if args.command == "index":
            return cmd_build(settings)
        if args.command == "ask":
            return cmd_ask(settings, args.question, args.json)
        if args.command == "chat":
            return cmd_chat(settings)
        if args.command == "add":
            return cmd_add(settings, args.files, args.reindex)
        if args.command == "docs":
            return cmd_docs(settings)
        if args.command == "remove":
            return cmd_remove(settings, args.id)
        if args.command == "eval":
            return cmd_eval(settings, args.file, args.json, args.gate_open)
        if args.command == "feedback":
            return cmd_feedback_export(settings, args.file)
        if args.command == "serve":
            return cmd_serve(settings, args.webhook_url, args.port, args.listen)
        if args.command == "run":
            if settings.token:
                return cmd_serve(settings, None, 8443)
            print("TELEGRAM_BOT_TOKEN is not set: starting the terminal chat.", file=sys.stderr)
            return cmd_chat(settings)
    except KeyboardInterrupt:
        return 130
    except QabotError as e:  # expected problems become one sentence; a bug keeps its traceback
        print(f"qabot: {e}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
