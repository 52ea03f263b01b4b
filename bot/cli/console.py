"""Console chat: the same Dialogue as the Telegram bot, in a terminal.

Buttons are shown as numbered choices; typing the number presses the button. A file the bot
sends (the .ics calendar) is written to the current directory, or a temporary one when that is
not writable, and its path printed. A conversation left unfinished (the profile wizard, a
broadcast) is picked up where it stopped, so a number typed after a restart presses one of its
buttons rather than one of /start's.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TextIO

from bot.cli.common import NOT_UTF8, read_lines
from bot.dialogue.commands import Conversations
from bot.dialogue.messages import Document, Incoming, Reply
from delivery.telegram_html import html_to_text
from knowledge.text import parse_int

CONSOLE_CHAT_ID = 0


def save_document(document: Document, folder: Path | None = None) -> Path:
    """Write a file the bot sent; the current directory first, a fresh temporary one if that fails."""
    name = Path(document.filename).name  # the bot names its files; never let that be a path
    try:
        path = (folder or Path.cwd()) / name
        path.write_bytes(document.content)
    except OSError:
        path = Path(tempfile.mkdtemp(prefix="tiedui-")) / name
        path.write_bytes(document.content)
    return path.resolve()


def show(replies: list[Reply], out: TextIO, folder: Path | None = None) -> list[str]:
    """Print replies as plain text; return the button data in the order they were numbered."""
    choices: list[str] = []
    for reply in replies:
        print(html_to_text(reply.html), file=out)
        for row in reply.buttons:
            for button in row:
                if button.data:
                    choices.append(button.data)
                    print(f"  [{len(choices)}] {button.label}", file=out)
                elif button.url:
                    print(f"  {button.label}：{button.url}", file=out)
        if reply.document:
            try:
                print(f"  已保存文件：{save_document(reply.document, folder)}", file=out)
            except OSError as exc:
                print(f"  无法保存文件 {reply.document.filename}：{exc.strerror or exc}", file=out)
        print(file=out)
    return choices


def opening(dialogue) -> list[Reply]:
    """/start, or the unfinished conversation's current step."""
    start = Incoming(CONSOLE_CHAT_ID, CONSOLE_CHAT_ID, "/start")
    conversations = dialogue.features.get(Conversations)
    flow = conversations.flow_of(start) if conversations is not None else None
    if flow is not None:
        return flow.resume(start)
    return dialogue.handle(start)


def run_console(services, inp: TextIO | None = None, out: TextIO | None = None, folder: Path | None = None) -> int:
    inp = inp or sys.stdin
    out = out or sys.stdout
    dialogue = services.dialogue
    choices = show(opening(dialogue), out, folder)
    print("（输入问题后回车；输入按钮前的数字可点选；/help 查看命令，/quit 退出）\n", file=out)
    lines = read_lines(inp)
    while True:
        print("> ", end="", file=out, flush=True)
        line = next(lines, False)
        if line is False:  # end of input
            print(file=out)
            return 0
        if line is None:
            print(f"{NOT_UTF8}\n", file=out)
            continue
        text = line.strip()
        number = parse_int(text, 1, len(choices))
        if number is not None:
            msg = Incoming(CONSOLE_CHAT_ID, CONSOLE_CHAT_ID, callback=choices[number - 1])
        else:
            msg = Incoming(CONSOLE_CHAT_ID, CONSOLE_CHAT_ID, text)
        replies = dialogue.handle(msg)
        choices = show(replies, out, folder)
        if text.split("@")[0].lower() in ("/quit", "/exit"):
            return 0
