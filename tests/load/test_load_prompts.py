"""What load requests ask: a fixed prompt, a JSONL file's prompts in turn, synthetic prompts of a
chosen size that are the same for the same seed and request number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollcall.load.prompts import FilePrompts, FixedPrompt, SyntheticPrompts
from rollcall.load.spec import SpecError


def test_a_fixed_prompt() -> None:
    assert FixedPrompt("hi").prompt(99) == "hi"
    with pytest.raises(SpecError, match="^--prompt: must not be empty"):
        FixedPrompt("  ")


def test_file_prompts_are_used_in_turn(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "one"}\n\n"two"\n{"prompt": "three", "id": 3}\n')
    prompts = FilePrompts(str(path))
    assert [prompts.prompt(n) for n in range(5)] == ["one", "two", "three", "one", "two"]
    assert prompts.describe() == f"3 prompts from {path}"


@pytest.mark.parametrize(("text", "message"), [
    ("not json\n", "line 1 is not JSON"),
    ('{"prompt": "ok"}\n{"text": "no prompt"}\n', 'line 2 needs a non-empty "prompt" string'),
    ('{"prompt": ""}\n', "line 1 needs"),
    ("[1, 2]\n", "line 1 needs"),
    ("\n\n", "has no prompts"),
    ("[" * 100_000 + "\n", "line 1 is not JSON"),
])
def test_bad_prompt_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(SpecError, match="^--prompts: ") as info:
        FilePrompts(str(path))
    assert message in str(info.value)


def test_synthetic_prompts_have_the_size_asked_for_and_repeat_by_seed() -> None:
    fixed = SyntheticPrompts(64, 0, seed=1)
    assert all(len(fixed.prompt(n).split()) == 64 for n in range(20))
    spread = SyntheticPrompts(100, 20, seed=1)
    lengths = [len(spread.prompt(n).split()) for n in range(300)]
    assert min(lengths) >= 80 and max(lengths) <= 120 and len(set(lengths)) > 20
    assert spread.prompt(7) == SyntheticPrompts(100, 20, seed=1).prompt(7)
    assert spread.prompt(7) != SyntheticPrompts(100, 20, seed=2).prompt(7)
    assert len({spread.prompt(n)[:40] for n in range(50)}) == 50  # no two share a cacheable prefix
    json.dumps(spread.prompt(0))  # plain text
