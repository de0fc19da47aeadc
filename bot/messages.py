"""What the bot says in its own words, in English and Chinese, chosen by the user's
Telegram language (traditional script for zh-Hant/zh-TW/zh-HK users)."""

from __future__ import annotations

from corpus.clean import to_traditional

_TRADITIONAL = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")

MESSAGES: dict[str, dict[str, str]] = {
    "start": {
        "en": "👋 I answer questions about <b>{documents}</b> document(s) (<b>{passages}</b> passages), with the "
              "passage and its source.\n\nJust write your question — in Chinese or English. Or tap an example:",
        "zh": "👋 我根据 <b>{documents}</b> 篇文档（<b>{passages}</b> 个段落）回答问题，并给出原文和出处。\n\n"
              "直接用中文或英文提问即可，也可以点下面的示例：",
    },
    "help": {
        "en": "<b>How to ask</b>\nWrite a question in Chinese (simplified or traditional) or English, e.g. "
              "“谁参加了调研？”. I answer from the documents only, cite the passage, and say so when they do not "
              "cover it.\n\n<b>Commands</b>\n/ask &lt;question&gt; — ask (in groups: or mention me, or reply to my "
              "message)\n/start — what I know, with example questions\n/help — this message\n"
              "/new — start a new topic (follow-up questions like “what did she say?” are read in context)\n"
              "/reindex — admins: rebuild the index after adding documents\n/stats — admins: figures\n"
              "/feedback — admins: ratings and unanswered questions\n\n"
              "<b>Tips</b>\n• Tap “More results” under an answer for further passages.\n"
              "• Inline: type @{username} and a question in any chat to share a passage.\n"
              "• Admins: send a PDF, Word (.docx), HTML, Markdown or text file to add it; /docs lists the documents, "
              "/remove removes one, /reindex makes the changes searchable.",
        "zh": "<b>怎么提问</b>\n用中文（简体或繁体）或英文提问，例如“谁参加了调研？”。我只根据文档回答，给出引用的段落；"
              "文档没有涉及的问题，我会直接说明。\n\n<b>命令</b>\n/ask &lt;问题&gt; — 提问（在群里也可以 @我 或回复我的消息）\n"
              "/start — 我知道什么，附示例问题\n/help — 本帮助\n/reindex — 管理员：添加文档后重建索引\n"
              "/stats — 管理员：统计数据\n/feedback — 管理员：评价和没有回答的问题\n/new — 开始新话题（“他们分别担任什么职务？”这样的追问会结合上文理解）\n\n<b>提示</b>\n• 点答案下方的“更多结果”查看更多段落。\n"
              "• 行内模式：在任何聊天里输入 @{username} 加问题，即可分享段落。\n"
              "• 管理员：发送 PDF、Word（.docx）、HTML、Markdown 或文本文件即可添加文档；/docs 查看文档列表，"
              "/remove 删除文档，/reindex 让改动生效。",
    },
    "empty": {"en": "Please write a question after the command, e.g. /ask 谁参加了调研？",
              "zh": "请在命令后面写上问题，例如：/ask 谁参加了调研？"},
    "no_words": {"en": "I don't see a question there. Please ask in words, e.g. “谁参加了调研？” or “Who attended?”.",
                 "zh": "没有看到问题。请用文字提问，例如“谁参加了调研？”。"},
    "too_long": {"en": "That question is too long ({length} characters). Please keep it under {limit} characters.",
                 "zh": "问题太长了（{length} 个字符），请控制在 {limit} 个字符以内。"},
    "rate": {"en": "You are asking faster than I can read. Please wait a minute and try again.",
             "zh": "提问太快了，请稍等一分钟再试。"},
    "private": {"en": "Sorry, this bot is private.", "zh": "抱歉，这个机器人不对外开放。"},
    "not_text": {"en": "I can only read text. Please type your question, e.g. “谁参加了调研？”.",
                 "zh": "我只能读文字。请直接输入问题，例如“谁参加了调研？”。"},
    "unknown": {"en": "I don't know {command}. Try /help.", "zh": "我不认识 {command} 这个命令，试试 /help。"},
    "more": {"en": "More results ➜", "zh": "更多结果 ➜"},
    "new_topic": {"en": "New topic", "zh": "新话题"},
    "new": {"en": "New topic: I'll read your next question on its own.",
            "zh": "新话题：下一个问题我会单独理解。"},
    "no_more": {"en": "No more results.", "zh": "没有更多结果了。"},
    "stale": {"en": "These results are out of date (the documents were re-indexed). Please ask again.",
              "zh": "这些结果已经过期（文档已重新索引），请重新提问。"},
    "sorry": {"en": "Sorry, something went wrong while answering. Please try again in a moment.",
              "zh": "抱歉，回答时出了点问题，请稍后再试。"},
    "store_down": {"en": "The document search is unavailable for a moment. Please try again shortly.",
                   "zh": "文档检索暂时不可用，请稍后再试。"},
    "admins_docs": {"en": "Only admins can add documents. Please ask your question as text.",
                    "zh": "只有管理员可以添加文档。请直接用文字提问。"},
    "admins_reindex": {"en": "Sorry, only admins can rebuild the index.", "zh": "抱歉，只有管理员可以重建索引。"},
    "admins_stats": {"en": "Sorry, /stats is for admins.", "zh": "抱歉，/stats 仅供管理员使用。"},
    "stats": {"en": "Documents: {documents}\nPassages: {passages}\nModel: {model}\nIndex: {index}, built {built}\n"
                    "Questions answered since start: {answered}\nMedian answer time: {median}",
              "zh": "文档：{documents}\n段落：{passages}\n模型：{model}\n索引：{index}，建于 {built}\n"
                    "启动以来回答的问题：{answered}\n回答时间中位数：{median}"},
    "stats_fluent": {"en": "Fluent answers ({model}): shown {shown}, held back by the check {held_back}, "
                           "endpoint failed {failed}",
                     "zh": "语言模型答案（{model}）：显示 {shown}，未通过核对 {held_back}，接口失败 {failed}"},
    "admins_only": {"en": "Sorry, this is for admins.", "zh": "抱歉，这项功能仅供管理员使用。"},
    "rated_up": {"en": "Thanks! 👍", "zh": "谢谢！👍"},
    "rated_down": {"en": "Thanks, noted. 👎", "zh": "谢谢，已记下。👎"},
    "rating_changed": {"en": "Rating changed.", "zh": "评价已更改。"},
    "rating_same": {"en": "Already rated so.", "zh": "已经这样评价过了。"},
    "rating_not_yours": {"en": "Only the person who asked can rate this answer.", "zh": "只有提问的人可以评价这个答案。"},
    "rating_unknown": {"en": "This answer can no longer be rated.", "zh": "这个答案已无法评价。"},
    "rating_failed": {"en": "Sorry, the rating could not be saved.", "zh": "抱歉，评价没能保存。"},
    "comment_prompt": {"en": "What was wrong with the answer? Reply to this message with one line (optional).",
                       "zh": "这个答案哪里不对？可以回复这条消息，写一句话（可选）。"},
    "comment_saved": {"en": "Thanks, your comment is saved.", "zh": "谢谢，意见已保存。"},
    "admins_feedback": {"en": "Sorry, /feedback is for admins.", "zh": "抱歉，/feedback 仅供管理员使用。"},
    "feedback_off": {"en": "Feedback is turned off (QABOT_FEEDBACK=0).", "zh": "反馈功能已关闭（QABOT_FEEDBACK=0）。"},
    "feedback_head": {"en": "<b>Feedback, last 14 days</b>\nday · asked · answered · 👍 · 👎",
                      "zh": "<b>最近 14 天的反馈</b>\n日期 · 提问 · 回答 · 👍 · 👎"},
    "feedback_none": {"en": "No questions recorded yet.", "zh": "还没有记录到提问。"},
    "feedback_worst": {"en": "<b>Worst-rated answers</b>", "zh": "<b>评价最差的答案</b>"},
    "feedback_unanswered": {"en": "<b>Asked most, not answered by the documents</b>",
                            "zh": "<b>问得最多、文档没有回答的问题</b>"},
    # documents (admins)
    "pages": {"en": "{n} page(s)", "zh": "{n} 页"},
    "paragraphs": {"en": "{n} paragraph(s)", "zh": "{n} 段"},
    "added": {"en": "📄 Added <b>{title}</b> as <code>{doc_id}</code>: {parts}, {passages} passage(s). "
                    "It is searchable after a reindex.",
              "zh": "📄 已添加《{title}》（<code>{doc_id}</code>）：{parts}，{passages} 个检索段落。重建索引后即可检索。"},
    "refused": {"en": "I did not add {name}: {reason}. Nothing was changed.",
                "zh": "没有添加 {name}：{reason}。文档库没有任何改动。"},
    "too_large": {"en": "{name} is too large ({size} MiB; at most {limit} MiB). Nothing was changed.",
                  "zh": "{name} 太大了（{size} MiB，上限 {limit} MiB）。文档库没有任何改动。"},
    "reindex_now": {"en": "🔄 Reindex now", "zh": "🔄 立即重建索引"},
    "docs_header": {"en": "📚 <b>{count}</b> document(s){page}:", "zh": "📚 共 <b>{count}</b> 篇文档{page}："},
    "docs_page": {"en": ", page {page}/{pages}", "zh": "，第 {page}/{pages} 页"},
    "docs_empty": {"en": "No documents yet. Send a PDF, Word, HTML, Markdown or text file to add one.",
                   "zh": "还没有文档。发送 PDF、Word、HTML、Markdown 或文本文件即可添加。"},
    "docs_passages": {"en": "{n} passage(s)", "zh": "{n} 个段落"},
    "state_new": {"en": "not indexed yet", "zh": "尚未索引"},
    "state_changed": {"en": "changed since indexing", "zh": "索引后有改动"},
    "state_removed": {"en": "file removed, still in the index until a reindex", "zh": "文件已移除，重建索引前仍在索引中"},
    "docs_footer": {"en": "Remove one with /remove and its number, e.g. /remove 1.",
                    "zh": "删除文档：/remove 加编号，例如 /remove 1。"},
    "previous": {"en": "◀ Previous", "zh": "◀ 上一页"},
    "next": {"en": "Next ▶", "zh": "下一页 ▶"},
    "remove_usage": {"en": "Which document? Send /remove with its number or id from /docs, e.g. /remove 1.",
                     "zh": "要删除哪篇文档？请发送 /remove 加 /docs 里的编号或标识，例如 /remove 1。"},
    "remove_unknown": {"en": "There is no document {ref}. /docs lists them.", "zh": "没有文档 {ref}。/docs 可以查看列表。"},
    "remove_confirm": {"en": "Remove <b>{title}</b> (<code>{doc_id}</code>)? The file is moved to the bot's "
                             "trash folder; answers stop citing it after the next reindex.",
                       "zh": "删除《{title}》（<code>{doc_id}</code>）吗？文件会移到回收目录；下次重建索引后，回答不再引用它。"},
    "remove_yes": {"en": "🗑 Remove", "zh": "🗑 删除"},
    "cancel": {"en": "Cancel", "zh": "取消"},
    "removed": {"en": "🗑 Removed <b>{title}</b>. Reindex to stop answering from it.",
                "zh": "🗑 已删除《{title}》。重建索引后，回答不再引用它。"},
    "cancelled": {"en": "Nothing was removed.", "zh": "没有删除任何文档。"},
    "gone": {"en": "That document is no longer there.", "zh": "这篇文档已经不在了。"},
    # rebuilding (admins)
    "reindex_busy": {"en": "A rebuild is already running; I'll keep answering from the current index.",
                     "zh": "索引正在重建中；在此期间我继续用当前索引回答。"},
    "reindex_start": {"en": "🔄 Rebuilding the index…", "zh": "🔄 正在重建索引……"},
    "reindex_progress": {"en": "🔄 Rebuilding the index… {done}/{total} passages",
                         "zh": "🔄 正在重建索引……{done}/{total} 个段落"},
    "eta": {"en": ", about {seconds} s left", "zh": "，约剩 {seconds} 秒"},
    "reindex_done": {"en": "✅ Index rebuilt: {documents} document(s), {passages} passages ({embedded} embedded, "
                           "{cached} cached) in {seconds}s.\nDocuments: {new} new, {changed} changed, {removed} removed, "
                           "{unchanged} unchanged.\nCleaning: {pinyin} pinyin annotations removed, {repaired} mojibake "
                           "spans repaired, {marked} marked.",
                     "zh": "✅ 索引已重建：{documents} 篇文档，{passages} 个段落（新编码 {embedded} 个，缓存 {cached} 个），"
                           "用时 {seconds} 秒。\n文档：新增 {new}，修改 {changed}，删除 {removed}，未变 {unchanged}。\n"
                           "清理：删除拼音注音 {pinyin} 处，修复乱码 {repaired} 处，标记损坏 {marked} 处。"},
    "reindex_skipped": {"en": "Skipped {problem}", "zh": "跳过 {problem}"},
    "reindex_failed": {"en": "❌ Rebuild failed: {error}. The previous index is still serving.",
                       "zh": "❌ 重建失败：{error}。仍在使用之前的索引。"},
}


def language_of(code: str | None) -> str:
    """'zh-Hant', 'zh-Hans' or 'en' from a Telegram ``language_code``."""
    code = (code or "").lower()
    if code.startswith(_TRADITIONAL):
        return "zh-Hant"
    return "zh-Hans" if code.startswith("zh") else "en"


def say(key: str, language: str, **values) -> str:
    """The message ``key`` in ``language``, with ``values`` filled in."""
    variants = MESSAGES[key]
    text = variants["zh"] if language.startswith("zh") else variants["en"]
    if language == "zh-Hant":
        text = to_traditional(text)
    return text.format(**values) if values else text
