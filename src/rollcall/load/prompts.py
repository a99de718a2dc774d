"""What each load request asks: one fixed prompt, the prompts of a JSONL file in turn, or synthetic
prompts of a chosen size from a seeded generator.

A source maps a request number to a prompt, deterministically, so shards anywhere build the same
prompts for the same numbers and a run can be repeated exactly. Workers get a source as its spec
(`to_spec`: plain data; a file's prompts travel as read, so no worker needs the file) and rebuild
it with `from_spec`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Protocol

from .spec import SpecError

MAX_FILE_BYTES = 256 << 20
MAX_PROMPTS = 1_000_000

# Short, common English words: each is about one token for the usual BPE vocabularies (with its
# leading space), so N words make a prompt of about N input tokens.
_WORDS = tuple(
    " " + w
    for w in (
        "the of and to in is was for on are as with his they at be this from have or by one had not but what "
        "all were when we there can an your which their said if do will each about how up out them then she "
        "many some so these would other into has more her two like him see time could no make than first been "
        "its who now people my made over did down only way find use may water long little very after words "
        "called just where most know get through back much go good new write our me man too any day same right "
        "look think also around another came come work three word must because does part even place well such "
        "here take why things help put years different away again off went old number great tell men say small "
        "every found still between name should home big give air line set own under read last never us left end "
        "along while might next sound below saw something thought both few those always looked show large often "
        "together asked house world going want school important until form food keep children feet land side "
        "without boy once animals life enough took sometimes four head above kind began almost live page got earth"
    ).split()
)


class PromptSource(Protocol):
    def prompt(self, number: int) -> str:
        """The prompt of request `number` (0-based, the same number on every shard)."""
        ...

    def describe(self) -> str: ...

    def spec(self) -> tuple[Any, ...]:
        """Plain data that `from_spec` turns back into this source (in a worker)."""
        ...


class FixedPrompt:
    def __init__(self, text: str) -> None:
        if not text.strip():
            raise SpecError("--prompt: must not be empty")
        self.text = text

    def prompt(self, number: int) -> str:
        return self.text

    def describe(self) -> str:
        return "fixed prompt"

    def spec(self) -> tuple[Any, ...]:
        return ("fixed", self.text)

    @classmethod
    def from_spec(cls, text: str) -> FixedPrompt:
        return cls(text)


class FilePrompts:
    """`--prompts FILE.jsonl`: one prompt per line, `{"prompt": "..."}` or a JSON string; used in
    turn, from the first again when the file runs out."""

    def __init__(self, path: str) -> None:
        self.path = path
        file = Path(path).expanduser()
        try:
            size = file.stat().st_size
            if size > MAX_FILE_BYTES:
                raise SpecError(f"--prompts: {path} is {size:,} bytes; at most {MAX_FILE_BYTES:,}")
            lines = file.read_bytes().splitlines()
        except OSError as exc:
            raise SpecError(f"--prompts: cannot read {path}: {exc.strerror or exc}") from None
        prompts: list[str] = []
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
            except (ValueError, RecursionError):
                raise SpecError(f"--prompts: {path} line {number} is not JSON") from None
            text = doc.get("prompt") if isinstance(doc, dict) else doc
            if not isinstance(text, str) or not text.strip():
                raise SpecError(f'--prompts: {path} line {number} needs a non-empty "prompt" string')
            prompts.append(text)
            if len(prompts) > MAX_PROMPTS:
                raise SpecError(f"--prompts: {path} has more than {MAX_PROMPTS:,} prompts")
        if not prompts:
            raise SpecError(f"--prompts: {path} has no prompts")
        self.prompts = prompts

    def prompt(self, number: int) -> str:
        return self.prompts[number % len(self.prompts)]

    def describe(self) -> str:
        return f"{len(self.prompts)} prompts from {self.path}"

    def spec(self) -> tuple[Any, ...]:
        return ("file", self.path, self.prompts)

    @classmethod
    def from_spec(cls, path: str, prompts: list[str]) -> FilePrompts:
        source = cls.__new__(cls)
        source.path, source.prompts = path, list(prompts)
        return source


class SyntheticPrompts:
    """`--input-tokens MEAN[:SPREAD]`: prompts of MEAN ± SPREAD words (about one token each), the
    length drawn uniformly, the words at random; request n gets the same prompt for the same seed."""

    def __init__(self, mean: int, spread: int, seed: int) -> None:
        self.mean, self.spread, self.seed = mean, spread, seed

    def length(self, number: int) -> int:
        if not self.spread:
            return self.mean
        return random.Random(f"{self.seed}:{number}:n").randint(self.mean - self.spread, self.mean + self.spread)

    def prompt(self, number: int) -> str:
        rng = random.Random(f"{self.seed}:{number}")
        # A request number up front: no two prompts share a prefix a server could cache.
        return f"{number}:" + "".join(rng.choices(_WORDS, k=self.length(number) - 1))

    def describe(self) -> str:
        spread = f"±{self.spread}" if self.spread else ""
        return f"synthetic prompts of {self.mean}{spread} tokens"

    def spec(self) -> tuple[Any, ...]:
        return ("synthetic", self.mean, self.spread, self.seed)

    @classmethod
    def from_spec(cls, mean: int, spread: int, seed: int) -> SyntheticPrompts:
        return cls(mean, spread, seed)


SOURCES: dict[str, Any] = {"fixed": FixedPrompt, "file": FilePrompts, "synthetic": SyntheticPrompts}


def to_spec(source: PromptSource) -> tuple[Any, ...]:
    """A source as plain data for a worker; TypeError for a source that cannot travel."""
    spec = getattr(source, "spec", None)
    if spec is None:
        raise TypeError(f"{type(source).__name__} has no spec(): worker processes need --prompt, --prompts or "
                        "--input-tokens")
    return spec()


def from_spec(spec: tuple[Any, ...]) -> PromptSource:
    kind, *args = spec
    return SOURCES[kind].from_spec(*args)
