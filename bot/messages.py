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
              "/reindex — admins: rebuild the index after adding documents\n/stats — admins: figures\n\n"
              "<b>Tips</b>\n• Tap “More results” under an answer for further passages.\n"
              "• Inline: type @{username} and a question in any chat to share a passage.\n"
              "• Admins can send a .txt or .md file to add it to the documents, then /reindex.",
        "zh": "<b>怎么提问</b>\n用中文（简体或繁体）或英文提问，例如“谁参加了调研？”。我只根据文档回答，给出引用的段落；"
              "文档没有涉及的问题，我会直接说明。\n\n<b>命令</b>\n/ask &lt;问题&gt; — 提问（在群里也可以 @我 或回复我的消息）\n"
              "/start — 我知道什么，附示例问题\n/help — 本帮助\n/reindex — 管理员：添加文档后重建索引\n"
              "/stats — 管理员：统计数据\n/new — 开始新话题（“他们分别担任什么职务？”这样的追问会结合上文理解）\n\n<b>提示</b>\n• 点答案下方的“更多结果”查看更多段落。\n"
              "• 行内模式：在任何聊天里输入 @{username} 加问题，即可分享段落。\n"
              "• 管理员可以发送 .txt 或 .md 文件来添加文档，然后 /reindex。",
    },
    "empty": {"en": "Please write a question after the command, e.g. /ask 谁参加了调研？",
              "zh": "请在命令后面写上问题，例如：/ask 谁参加了调研？"},
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
    "admins_docs": {"en": "Only admins can add documents. Please ask your question as text.",
                    "zh": "只有管理员可以添加文档。请直接用文字提问。"},
    "admins_reindex": {"en": "Sorry, only admins can rebuild the index.", "zh": "抱歉，只有管理员可以重建索引。"},
    "admins_stats": {"en": "Sorry, /stats is for admins.", "zh": "抱歉，/stats 仅供管理员使用。"},
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
