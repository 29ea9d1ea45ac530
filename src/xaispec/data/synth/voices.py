"""Synthetic voices: speakers drawn from a seed, and the takes each of them speaks.

A :class:`Speaker` is an espeak-ng voice variant of its gender in one English accent,
with its own base prosody, loudness and recording noise, all drawn deterministically
from the seed and the speaker id (:func:`make_speaker`). A :class:`Take` is one file:
the speaker's prosody jittered a little more, again deterministically (:func:`make_take`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .espeak import PITCH_RANGE, RANGE_RANGE, RATE_RANGE, VOLUME_RANGE

__all__ = ["ACCENTS", "FEMALE_VARIANTS", "MALE_VARIANTS", "Speaker", "Take"]


#: espeak-ng variants that sound like ordinary female / male voices (no robots, echoes, whispers)
FEMALE_VARIANTS: tuple[str, ...] = (
    "f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "anika", "aunty",
    "belinda", "linda", "steph", "steph2",
)
MALE_VARIANTS: tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "Andy", "Denis", "Diogo", "Henrique",
    "Marco", "antonio", "michel", "miguel", "travis", "victor",
)
#: espeak-ng English languages, the accent written to the meta data, and how often each is drawn
ACCENTS: tuple[tuple[str, str, float], ...] = (
    ("en-us", "american", 0.35),
    ("en", "british", 0.25),
    ("en-gb-x-rp", "received pronunciation", 0.08),
    ("en-gb-scotland", "scottish", 0.08),
    ("en-gb-x-gbclan", "lancashire", 0.06),
    ("en-gb-x-gbcwmd", "west midlands", 0.06),
    ("en-us-nyc", "new york", 0.06),
    ("en-029", "caribbean", 0.06),
)
ORIGINS = {
    "en-us": "America, USA", "en": "Europe, United Kingdom", "en-gb-x-rp": "Europe, United Kingdom, England",
    "en-gb-scotland": "Europe, United Kingdom, Scotland", "en-gb-x-gbclan": "Europe, United Kingdom, Lancaster",
    "en-gb-x-gbcwmd": "Europe, United Kingdom, Birmingham", "en-us-nyc": "America, USA, New York",
    "en-029": "America, Caribbean, Jamaica",
}

# salt of the speaker streams, so that digit speakers, emotion actors and cue speakers differ
DIGITS_TAG, EMOTIONS_TAG, CUES_TAG = 1, 2, 3


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: one voice with its own prosody and recording conditions.

    Attributes
    ----------
    id : int
        Participant or actor id.
    gender : str
        ``"male"`` or ``"female"``.
    language : str
        espeak-ng language (the accent), e.g. ``"en-us"``.
    accent : str
        The accent's name.
    variant : str
        espeak-ng voice variant of the speaker's gender.
    pitch, pitch_range, rate, volume : float
        The speaker's base values of :func:`speak`'s parameters.
    amplitude : float
        Linear gain applied to espeak-ng's output.
    noise_db : float
        Level of the recording noise in dB relative to full scale (standard deviation).
    age : int
        Age written to the meta data.
    """

    id: int
    gender: str
    language: str
    accent: str
    variant: str
    pitch: float
    pitch_range: float
    rate: float
    volume: float
    amplitude: float
    noise_db: float
    age: int

    @property
    def voice(self) -> str:
        """The espeak-ng voice name, ``language+variant``."""
        return f"{self.language}+{self.variant}"


def make_speaker(seed: int, tag: int, speaker_id: int, gender: str, rank: int) -> Speaker:
    """Draw a speaker deterministically from ``(seed, tag, speaker_id)``.

    ``rank`` (the speaker's index among the speakers of its gender) picks the variant
    from a seed-shuffled pool, so that consecutive speakers of a gender differ in voice.
    """
    pool = FEMALE_VARIANTS if gender == "female" else MALE_VARIANTS
    order = np.random.default_rng([seed, tag, 0]).permutation(len(pool))
    variant = pool[int(order[rank % len(pool)])]
    rng = np.random.default_rng([seed, tag, speaker_id])
    weights = np.array([w for _, _, w in ACCENTS])
    language, accent, _ = ACCENTS[int(rng.choice(len(ACCENTS), p=weights / weights.sum()))]
    return Speaker(
        id=speaker_id,
        gender=gender,
        language=language,
        accent=accent,
        variant=variant,
        pitch=round(float(rng.uniform(32, 68)), 2),
        pitch_range=round(float(rng.uniform(35, 75)), 2),
        rate=round(float(rng.uniform(145, 205)), 2),
        volume=round(float(rng.uniform(85, 105)), 2),
        amplitude=round(float(rng.uniform(0.55, 0.95)), 4),
        noise_db=round(float(rng.uniform(-68, -54)), 2),
        age=int(rng.integers(20, 62)),
    )


@dataclass(frozen=True)
class Take:
    """Everything that makes one file: what is said, how, and where it goes.

    ``noise_seed`` seeds the generator of the file's additive noise.
    """

    path: str
    text: str
    speaker: int
    voice: str
    rate: float
    pitch: float
    pitch_range: float
    volume: float
    amplitude: float
    noise_std: float
    noise_seed: tuple[int, ...]
    labels: dict


def _clip(value: float, bounds: tuple[float, float]) -> float:
    """``value`` clipped to the closed interval ``bounds``, as a float."""
    return float(min(max(value, bounds[0]), bounds[1]))


def make_take(path: str, text: str, speaker: Speaker, key: tuple[int, ...], labels: dict, *,
          rate: float, pitch: float, pitch_range: float, volume: float) -> Take:
    """A take around the given prosody, jittered by a generator seeded from ``key``."""
    rng = np.random.default_rng([*key, 0])
    return Take(
        path=path,
        text=text,
        speaker=speaker.id,
        voice=speaker.voice,
        rate=round(_clip(rate * rng.normal(1.0, 0.05), RATE_RANGE), 2),
        pitch=round(_clip(pitch + rng.normal(0.0, 3.0), PITCH_RANGE), 2),
        pitch_range=round(_clip(pitch_range + rng.normal(0.0, 5.0), RANGE_RANGE), 2),
        volume=round(_clip(volume + rng.normal(0.0, 4.0), VOLUME_RANGE), 2),
        amplitude=round(float(speaker.amplitude * np.exp(rng.normal(0.0, 0.12))), 4),
        noise_std=round(float(10 ** ((speaker.noise_db + rng.normal(0.0, 1.5)) / 20)), 6),
        noise_seed=(*key, 1),
        labels=labels,
    )
