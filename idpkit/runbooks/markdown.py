"""Parse a runbook's Markdown into its sections and its fenced shell blocks, in document order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHELL_LANGUAGES = frozenset({"sh", "bash"})
LOCAL = "local"
AWS = "aws"
VERIFY = "verify"
MARKS = frozenset({LOCAL, AWS, VERIFY})

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
_SECTION_LEVEL = 2
"""`##` headings delimit the runbook's required sections."""
_NUMBERED_ITEM = re.compile(r"^\s{0,3}(?P<number>\d+)[.)]\s")


class MarkdownError(ValueError):
    """A runbook breaks the marking conventions (an unmarked or unclosed shell block, an unknown mark)."""


@dataclass(frozen=True)
class Block:
    """One fenced shell block."""

    code: str
    marks: frozenset[str]
    line: int
    """Line of the opening fence (1-based), for messages."""
    section: str
    """Title of the `##` section holding the block."""
    step: str | None
    """Number of the numbered list item the block belongs to (`3`), None outside a numbered list."""

    @property
    def is_local(self) -> bool:
        return LOCAL in self.marks

    @property
    def is_verification(self) -> bool:
        return VERIFY in self.marks

    @property
    def where(self) -> str:
        step = f"step {self.step}" if self.step else "block"
        return f"section {self.section!r}, {step} (line {self.line})"


@dataclass(frozen=True)
class Runbook:
    path: Path
    title: str
    sections: tuple[str, ...]
    """Titles of the `##` sections, in order."""
    blocks: tuple[Block, ...]
    prose: str
    """The text outside fenced blocks (inline code included)."""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def local_blocks(self) -> tuple[Block, ...]:
        return tuple(block for block in self.blocks if block.is_local)


def parse_runbook(path: Path) -> Runbook:
    """Read `path`; raises MarkdownError when a shell block is unmarked, doubly marked or unclosed."""
    lines = path.read_text().splitlines()
    title, section, step = "", "", None
    sections: list[str] = []
    blocks: list[Block] = []
    prose: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence is None:
            prose.append(line)
            if heading := _HEADING.match(line):
                level, text = len(heading["level"]), heading["title"]
                if level == 1 and not title:
                    title = text
                elif level == _SECTION_LEVEL:
                    section, step = text, None
                    sections.append(text)
            elif item := _NUMBERED_ITEM.match(line):
                step = item["number"]
            index += 1
            continue
        end = _closing_fence(lines, index, fence["fence"])
        if end is None:
            raise MarkdownError(f"{path.name}:{index + 1}: code block never closed")
        words = fence["info"].split()
        if words and words[0] in SHELL_LANGUAGES:
            marks = frozenset(words[1:])
            _check_marks(path, index + 1, marks)
            body = [text.removeprefix(fence["indent"]) for text in lines[index + 1 : end]]
            blocks.append(Block("\n".join(body) + "\n", marks, index + 1, section, step))
        index = end + 1
    return Runbook(path, title, tuple(sections), tuple(blocks), "\n".join(prose))


def _closing_fence(lines: list[str], opening: int, fence: str) -> int | None:
    for index in range(opening + 1, len(lines)):
        stripped = lines[index].strip()
        if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
            return index
    return None


def _check_marks(path: Path, line: int, marks: frozenset[str]) -> None:
    where = f"{path.name}:{line}"
    if unknown := marks - MARKS:
        raise MarkdownError(f"{where}: unknown mark(s) {', '.join(sorted(unknown))}; use local, aws, verify")
    if (LOCAL in marks) == (AWS in marks):
        raise MarkdownError(f"{where}: a shell block is marked either `local` or `aws`, exactly one of them")
    if VERIFY in marks and AWS in marks:
        raise MarkdownError(f"{where}: `verify` marks local blocks only (CI runs them); AWS checks are plain `aws`")
