"""The prompt catalogue (config/prompts.toml) and its audio: `hotline prompts build|check`.

`load_catalogue` reads the catalogue into typed objects (a wrong key names the file, the key
and the expected form). `build` writes `<build_directory>/<language>/<id>.wav`, 8 kHz mono
16-bit PCM (what Asterisk plays best), optionally also `.ulaw`: synthesised with espeak-ng,
or converted from a studio recording (`file.<language>` in the catalogue) with pydub.
Resampling is left to ffmpeg (pydub export parameters), never to pydub's audioop code.
A manifest (`<build_directory>/manifest.json`) keeps a hash of what each file was made from
(text and voice, or the recording's bytes), so a second build only remakes what changed.
`check` lists prompts without (current) audio and prompt ids the flows use but the
catalogue lacks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import IO, Any

from hotline.tomltables import ConfigError, Table, load_toml
from recordings.wav import NotAWav, wav_info

SAMPLE_RATE = 8000
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Voice:
    name: str  # espeak-ng -v
    speed: int  # espeak-ng -s, "words" a minute


# Debian 12's espeak-ng 1.51 `cmn` voice reads Chinese characters as pinyin spelled in
# English ("hao two"); `cmn-latn-pinyin` reads them right. Speeds: about 4.5 characters a
# second in Mandarin, 165 words a minute in English (espeak-ng's 175 is hurried on a phone).
VOICES: Mapping[str, Voice] = {"zh-CN": Voice("cmn-latn-pinyin", 200), "en": Voice("en-us", 150)}
LATIN_VOICE = VOICES["en"]  # runs of Latin letters inside another language's text
# Bump when the way audio is made changes: every prompt is rebuilt once.
RECIPE = f"1 rate={SAMPLE_RATE}"


@dataclass(frozen=True)
class _Format:
    suffix: str  # Asterisk picks the file by its extension
    ffmpeg_format: str
    codec: str


FORMATS: Mapping[str, _Format] = {
    "wav": _Format(".wav", "wav", "pcm_s16le"),
    "ulaw": _Format(".ulaw", "mulaw", "pcm_mulaw"),
}

_ID = re.compile(r"[a-z0-9_-]+(/[a-z0-9_-]+)*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # TOML keys that need no quotes
_ASCII_RUN = re.compile(r"[ -~]+")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


class PromptError(Exception):
    """Prompts cannot be built or checked as asked (one line, for the user)."""


@dataclass(frozen=True)
class Prompt:
    id: str
    texts: Mapping[str, str]  # language -> what the caller hears
    files: Mapping[str, Path]  # language -> studio recording (used instead of synthesis)


@dataclass(frozen=True)
class Catalogue:
    file: Path
    languages: tuple[str, ...]
    prompts: Mapping[str, Prompt]  # id -> prompt, in file order


def load_catalogue(path: Path, languages: Sequence[str]) -> Catalogue:
    """Read the catalogue; every prompt needs a text in each of `languages`."""
    languages = tuple(languages)
    keys = (*languages, "file")
    expected_keys = "one of " + ", ".join(repr(k) for k in keys)
    data = load_toml(path)
    prompts: dict[str, Prompt] = {}
    for prompt_id, value in data.items():
        where = f"[{prompt_id}]" if _BARE_KEY.fullmatch(prompt_id) else f'["{prompt_id}"]'
        if not _ID.fullmatch(prompt_id):
            raise ConfigError(
                f"{path}: {where}: expected a prompt id of lowercase letters, digits, '_' "
                "and '-', parts separated by '/' (quoted: [\"num/7\"])"
            )
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: {where}: expected a prompt table, got {value!r}")
        table = Table(value, path, where)
        for key, item in value.items():
            if key not in keys:
                hint = (
                    "; an id with '/' is written quoted: [\"a/b\"]"
                    if isinstance(item, Mapping)
                    else ""
                )
                raise table.error(key, f"{expected_keys}{hint}", item)
        texts = {
            lang: " ".join(table.text(lang, expected=f"the {lang} text").split())
            for lang in languages
        }
        for lang, text in texts.items():
            if not text:
                raise table.error(lang, f"the {lang} text", value[lang])
        files: dict[str, Path] = {}
        if "file" in value:
            file_t = table.table("file")
            for lang in file_t.data:
                if lang not in languages:
                    raise file_t.error(lang, "a language: " + ", ".join(repr(k) for k in languages))
                recording = file_t.path(lang)
                if not recording.is_file():
                    raise file_t.error(
                        lang, "an existing recording (relative to the catalogue)", str(recording)
                    )
                files[lang] = recording
        prompts[prompt_id] = Prompt(prompt_id, texts, files)
    return Catalogue(path, languages, prompts)


def catalogue_ids(path: Path, languages: Sequence[str] | None = None) -> frozenset[str]:
    """The catalogue's prompt ids. With `languages`, the whole catalogue is checked too;
    without, only that every entry is a table with a well-formed id."""
    if languages is not None:
        return frozenset(load_catalogue(path, languages).prompts)
    ids = []
    for prompt_id, value in load_toml(path).items():
        if not _ID.fullmatch(prompt_id) or not isinstance(value, Mapping):
            raise ConfigError(f"{path}: [{prompt_id}]: expected a prompt table with a valid id")
        ids.append(prompt_id)
    return frozenset(ids)


def parse_formats(text: str) -> tuple[str, ...]:
    """'wav,ulaw' -> ('wav', 'ulaw')."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise PromptError(
            f"--format: expected a comma-separated list of {', '.join(FORMATS)}, got {text!r}"
        )
    return names


def audio_path(directory: Path, language: str, prompt_id: str, fmt: str = "wav") -> Path:
    return directory / language / f"{prompt_id}{FORMATS[fmt].suffix}"


# --- build ---------------------------------------------------------------------------------


@dataclass
class BuildSummary:
    built: list[str] = field(default_factory=list)  # "zh-CN welcome_lang"
    up_to_date: int = 0
    failed: list[str] = field(default_factory=list)  # "zh-CN welcome_lang: why"


@dataclass(frozen=True)
class _Job:
    prompt: Prompt
    language: str
    digest: str
    outputs: tuple[tuple[str, Path], ...]  # (format, final path)

    @property
    def name(self) -> str:
        return f"{self.language} {self.prompt.id}"


class _Failed(Exception):
    pass


def build(
    catalogue: Catalogue,
    directory: Path,
    *,
    formats: Sequence[str] = ("wav",),
    only: Collection[str] | None = None,
    progress: IO[str] | None = None,
    jobs: int | None = None,
) -> BuildSummary:
    """Make the audio of every prompt (or of `only`) in every language; skip what is current."""
    for fmt in formats:
        if fmt not in FORMATS:
            raise PromptError(f"unknown audio format {fmt!r} (known: {', '.join(FORMATS)})")
    ids = list(catalogue.prompts)
    if only is not None:
        unknown = sorted(set(only) - set(catalogue.prompts))
        if unknown:
            raise PromptError(
                f"no prompt {', '.join(map(repr, unknown))} in {_show(catalogue.file)}"
            )
        ids = [i for i in ids if i in only]
    manifest = _read_manifest(directory)
    summary = BuildSummary()
    todo: list[_Job] = []
    for language in catalogue.languages:
        for prompt_id in ids:
            prompt = catalogue.prompts[prompt_id]
            digest = _digest(prompt, language)
            outputs = tuple((f, audio_path(directory, language, prompt_id, f)) for f in formats)
            if all(_current(manifest, directory, path, digest) for _, path in outputs):
                summary.up_to_date += 1
            else:
                todo.append(_Job(prompt, language, digest, outputs))
    if not todo:
        return summary
    _require("ffmpeg")
    if any(job.language not in job.prompt.files for job in todo):
        _require("espeak-ng")
        missing = sorted({j.language for j in todo if j.language not in VOICES})
        if missing:
            raise PromptError(
                f"no espeak-ng voice for language {', '.join(map(repr, missing))}: give a "
                f"recording (file.<language>) or use one of {', '.join(VOICES)}"
            )
    segment = _audio_segment()
    bar = _Bar(progress, len(todo))
    pool = ThreadPoolExecutor(max_workers=jobs or min(8, os.cpu_count() or 1))
    try:
        with tempfile.TemporaryDirectory(prefix="hotline-prompts-") as scratch:
            futures = [pool.submit(_make, job, segment, Path(scratch)) for job in todo]
            for job, future in zip(todo, futures, strict=True):
                error = future.result()
                for _, path in job.outputs:
                    key = path.relative_to(directory).as_posix()
                    if error is None:
                        manifest[key] = job.digest
                    else:
                        manifest.pop(key, None)
                if error is None:
                    summary.built.append(job.name)
                else:
                    summary.failed.append(f"{job.name}: {error}")
                bar.step(job.name)
            pool.shutdown()
    finally:
        pool.shutdown(cancel_futures=True)  # Ctrl-C: drop what has not started
        bar.close()
        _write_manifest(directory, manifest)
    return summary


def _make(job: _Job, segment: Any, scratch: Path) -> str | None:
    """Make one prompt's files in one language; None, or why it failed (one line)."""
    try:
        if job.language in job.prompt.files:
            source = job.prompt.files[job.language]
        else:
            source = scratch / f"{job.language}-{job.prompt.id.replace('/', '+')}.wav"
            _synthesise(job.prompt.texts[job.language], job.language, source)
        try:
            audio = _read_audio(segment, source)
        except Exception as exc:  # pydub's CouldntDecodeError and friends
            raise _Failed(f"cannot read {source}: {_first_line(exc)}") from None
        if len(audio) == 0:
            raise _Failed(f"{source}: no audio in it")
        for fmt, path in job.outputs:
            spec = FORMATS[fmt]
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_name(f".{path.name}.part")
            try:
                audio.export(
                    str(part),
                    format=spec.ffmpeg_format,
                    codec=spec.codec,
                    # ffmpeg resamples and downmixes; bitexact: no encoder tag chunk
                    parameters=["-ar", str(SAMPLE_RATE), "-ac", "1", "-fflags", "+bitexact"],
                ).close()
            except Exception as exc:  # pydub's CouldntEncodeError
                part.unlink(missing_ok=True)
                raise _Failed(f"ffmpeg could not write {fmt}: {_first_line(exc)}") from None
            if fmt == "wav":
                _verify_wav(part)
            elif part.stat().st_size == 0:
                raise _Failed(f"ffmpeg wrote an empty {fmt} file")
            os.replace(part, path)
        return None
    except _Failed as exc:
        return str(exc)
    except (OSError, subprocess.SubprocessError) as exc:
        return _first_line(exc)


def _read_audio(segment: Any, source: Path) -> Any:
    if source.suffix.lower() != ".wav":
        return segment.from_file(str(source))  # ffmpeg finds out the format
    # pydub 0.25.1 leaves a WAV it opened itself open (ResourceWarning): hand it ours
    with source.open("rb") as fh:
        return segment.from_file(fh, format="wav")


def _synthesise(text: str, language: str, out: Path) -> None:
    voice = VOICES[language]
    ssml = _ssml(text, voice)
    command = ["espeak-ng", "-v", voice.name, "-s", str(voice.speed), "-m", "-w", str(out), ssml]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
        why = _first_line(done.stderr) or f"exit status {done.returncode}, no audio"
        raise _Failed(f"espeak-ng -v {voice.name} failed: {why}")


def _ssml(text: str, voice: Voice) -> str:
    """The text as SSML: runs of Latin letters in another language go to the English voice,
    at its own speed. Every run names its voice: espeak-ng 1.51 falls back to plain `cmn`
    (the broken one) after a </voice>.
    """
    parts: list[tuple[Voice, str]] = []
    pos = 0
    if voice != LATIN_VOICE:
        for run in _ASCII_RUN.finditer(text):
            if _LATIN_LETTER.search(run.group()):
                parts.append((voice, text[pos : run.start()]))
                parts.append((LATIN_VOICE, run.group()))
                pos = run.end()
    parts.append((voice, text[pos:]))
    out = []
    for run_voice, said in parts:
        if said.strip():
            body = escape(said, quote=False)
            if run_voice.speed != voice.speed:  # -s is the main voice's speed
                rate = round(100 * run_voice.speed / voice.speed)
                body = f'<prosody rate="{rate}%">{body}</prosody>'
            out.append(f'<voice name="{run_voice.name}">{body}</voice>')
    return "".join(out)


def _verify_wav(path: Path) -> None:
    try:
        info = wav_info(path)
    except NotAWav as exc:
        raise _Failed(str(exc)) from None
    form = (info.sample_rate, info.channels, info.bits)
    if form != (SAMPLE_RATE, 1, 16) or not info.header_complete or info.seconds <= 0:
        raise _Failed(f"ffmpeg wrote {form} ({info.seconds:.2f} s), not 8 kHz mono 16-bit")


def _digest(prompt: Prompt, language: str) -> str:
    if language in prompt.files:
        source = ["file", hashlib.sha256(prompt.files[language].read_bytes()).hexdigest()]
    else:
        voice, latin = VOICES.get(language, Voice("", 0)), LATIN_VOICE
        text = prompt.texts[language]
        source = ["espeak-ng", voice.name, str(voice.speed), latin.name, str(latin.speed), text]
    blob = json.dumps([RECIPE, language, *source], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _current(manifest: Mapping[str, str], directory: Path, path: Path, digest: str) -> bool:
    key = path.relative_to(directory).as_posix()
    return manifest.get(key) == digest and path.is_file()


def _read_manifest(directory: Path) -> dict[str, str]:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no manifest (or a broken one): everything is rebuilt
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)}


def _write_manifest(directory: Path, manifest: Mapping[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    part = directory / f".{MANIFEST}.part"
    body = {"version": 1, "files": dict(sorted(manifest.items()))}
    part.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(part, directory / MANIFEST)


def _require(program: str) -> None:
    if shutil.which(program) is None:
        raise PromptError(
            f"{program} not found: install the Debian package {program} (scripts/setup does)"
        )


def _audio_segment() -> Any:
    """pydub's AudioSegment. pydub imports the stdlib `audioop`, which warns
    (DeprecationWarning) on Python 3.11+; we never use audioop's resampling, so that one
    warning is silenced here, precisely, instead of everywhere."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="'audioop' is deprecated", category=DeprecationWarning
        )
        from pydub import AudioSegment
    return AudioSegment


def _first_line(value: object) -> str:
    lines = [line.strip() for line in str(value).strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Bar:
    """A plain progress bar on a terminal (nothing when the stream is not one)."""

    WIDTH = 30

    def __init__(self, stream: IO[str] | None, total: int) -> None:
        self.stream = stream if stream is not None and stream.isatty() else None
        self.total = total
        self.done = 0

    def step(self, label: str) -> None:
        self.done += 1
        if self.stream is None:
            return
        filled = self.WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(f"\rprompts [{bar}] {self.done}/{self.total} {label[:40]:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None and self.done:
            self.stream.write("\n")
            self.stream.flush()


# --- check -------------------------------------------------------------------------------


def check(catalogue: Catalogue, directory: Path, referenced: Iterable[str] = ()) -> list[str]:
    """One line per problem: prompts without current audio (per language), then ids the
    flows reference (`referenced`) that the catalogue lacks."""
    manifest = _read_manifest(directory)
    problems: list[str] = []
    for language in catalogue.languages:
        for prompt_id, prompt in catalogue.prompts.items():
            path = audio_path(directory, language, prompt_id)
            if not path.is_file():
                problems.append(f"{language} {prompt_id}: no audio (run hotline prompts build)")
            elif not _current(manifest, directory, path, _digest(prompt, language)):
                problems.append(
                    f"{language} {prompt_id}: audio out of date (run hotline prompts build)"
                )
    for prompt_id in sorted(set(referenced) - set(catalogue.prompts)):
        problems.append(f"{prompt_id}: referenced by a flow but not in {_show(catalogue.file)}")
    return problems
