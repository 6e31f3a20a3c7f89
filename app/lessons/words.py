"""The lesson dock's own words, in each lesson language."""
from __future__ import annotations

LANG_NAMES = {"en": "English", "zh": "中文"}
UI = {  # the dock's own words
    "en": {"lessons": "Lessons", "open": "Start", "resume": "Continue", "back": "◀ Back", "next": "Next ▶",
           "show": "Show me", "step": "Step {i} of {n}", "done": "Lesson complete ✓", "todo": "Do the step, or press Show me.",
           "pick": "Pick a lesson and press Start.", "gone": "This lesson's graph is no longer open: press Start."},
    "zh": {"lessons": "课程", "open": "开始", "resume": "继续", "back": "◀ 上一步", "next": "下一步 ▶",
           "show": "演示", "step": "第 {i} 步，共 {n} 步", "done": "本课完成 ✓", "todo": "完成这一步，或按“演示”。",
           "pick": "选择一课，然后按“开始”。", "gone": "本课的图已经关闭：请按“开始”。"},
}
