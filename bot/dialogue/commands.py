"""The chat's routing table: commands, button prefixes and conversation states, each bound to the
feature that serves it.

One declarative list: /help, the console's help, Telegram's setMyCommands, the README test and the
router all read `COMMANDS`. A command holds the function that answers it (a method of its feature
class); a feature the channel lacks (no database → no profile) takes its commands with it.
Button data is short codes (`v:annual-update`, `pf:d:3`), far inside Telegram's 64-byte limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bot.dialogue.deadlines import Deadlines
from bot.dialogue.messages import Incoming, Reply
from bot.dialogue.privacy import Privacy
from bot.dialogue.profile import ProfileFlow
from bot.dialogue.qa import Questions
from bot.dialogue.settings import ReminderSettings
from bot.dialogue.staff import StaffFlow


class Conversations:
    """Routes a conversation's typed text and /cancel to the flow that owns its state (`FLOWS`)."""

    def __init__(self, store, flows: dict[str, object]):
        self.store = store
        self.flows = flows  # state -> flow instance

    def flow_of(self, msg: Incoming):
        conv = self.store.get_conversation(msg.chat_id, msg.user_id)
        return self.flows.get(conv[0]) if conv is not None else None

    def on_text(self, msg: Incoming) -> list[Reply] | None:
        """The flow's answer to a text typed during a conversation; None outside one."""
        flow = self.flow_of(msg)
        return flow.on_text(msg) if flow is not None else None

    def cancel(self, msg: Incoming) -> list[Reply]:
        flow = self.flow_of(msg)
        if flow is None:
            return [Reply("当前没有进行中的操作。")]
        return flow.cancel(msg)


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    feature: type
    handler: Callable[..., list[Reply]]   # handler(feature instance, Incoming)
    console_only: bool = False
    staff_only: bool = False  # listed only to administrators and district staff; private chats only
    personal: bool = False    # shows or changes one user's data: private chats only

    @property
    def private_only(self) -> bool:
        return self.staff_only or self.personal


COMMANDS: tuple[Command, ...] = (
    Command("start", "开始使用，查看主菜单", Questions, Questions.start),
    Command("help", "使用说明和全部命令", Questions, Questions.help),
    Command("topics", "按章节浏览通知", Questions, Questions.topics),
    Command("profile", "填写或修改企业档案", ProfileFlow, ProfileFlow.start, personal=True),
    Command("deadlines", "查看适用于本企业的期限和事项", Deadlines, Deadlines.show, personal=True),
    Command("subscribe", "开启到期提醒", ReminderSettings, ReminderSettings.subscribe, personal=True),
    Command("settings", "提醒设置：提前天数、时间、免打扰", ReminderSettings, ReminderSettings.settings,
            personal=True),
    Command("unsubscribe", "关闭到期提醒", ReminderSettings, ReminderSettings.unsubscribe, personal=True),
    Command("cancel", "退出当前操作（不保存）", Conversations, Conversations.cancel),
    Command("forget", "删除我的全部数据", Privacy, Privacy.forget, personal=True),
    Command("quit", "退出控制台对话", Questions, Questions.quit, console_only=True),
    Command("whoami", "查看我的用户 ID 和身份", StaffFlow, StaffFlow.whoami, staff_only=True),
    Command("staff", "用邀请码开通工作人员权限：/staff 邀请码", StaffFlow, StaffFlow.redeem, staff_only=True),
    Command("broadcast", "发布通知（工作人员）", StaffFlow, StaffFlow.start, staff_only=True),
    Command("console", "获取工作台（网页）登录链接（工作人员）", StaffFlow, StaffFlow.console, staff_only=True),
    Command("broadcast_status", "查看通知发送进度：/broadcast_status [编号]", StaffFlow, StaffFlow.status,
            staff_only=True),
    Command("broadcast_cancel", "取消待发送的通知：/broadcast_cancel 编号", StaffFlow, StaffFlow.cancel_command,
            staff_only=True),
    Command("grant", "授予权限（管理员）：/grant 用户ID 区名", StaffFlow, StaffFlow.grant, staff_only=True),
    Command("invite", "生成邀请码（管理员）：/invite 区名 [天数]", StaffFlow, StaffFlow.invite, staff_only=True),
    Command("revoke", "撤销权限（管理员）：/revoke 用户ID", StaffFlow, StaffFlow.revoke, staff_only=True),
    Command("staff_list", "工作人员名单（管理员）", StaffFlow, StaffFlow.staff_list, staff_only=True),
)


@dataclass(frozen=True)
class Callback:
    feature: type
    handler: Callable[..., list[Reply]]   # handler(feature instance, Incoming, the data after "prefix:")
    private_only: bool = False            # a button of a personal or staff reply


# Button prefixes.
CALLBACKS: dict[str, Callback] = {
    "v": Callback(Questions, Questions.view_clause),
    "a": Callback(Questions, Questions.answer_button),
    "t": Callback(Questions, Questions.topics_button),
    "h": Callback(Questions, Questions.help_button),
    "pf": Callback(ProfileFlow, ProfileFlow.on_button, private_only=True),
    "dl": Callback(Deadlines, Deadlines.show_button, private_only=True),
    "ics": Callback(Deadlines, Deadlines.ics_button, private_only=True),
    "fg": Callback(Privacy, Privacy.forget_button, private_only=True),
    "st": Callback(ReminderSettings, ReminderSettings.settings_button, private_only=True),
    "rm": Callback(ReminderSettings, ReminderSettings.reminder_button, private_only=True),
    "bc": Callback(StaffFlow, StaffFlow.on_button, private_only=True),
}

# Conversations kept in the `conversations` table: the flows that own their states.
FLOWS: tuple[type, ...] = (ProfileFlow, StaffFlow)
