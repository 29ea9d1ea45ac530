"""Offline synthetic speech corpora spoken by espeak-ng.

Two corpora stand in for the recorded ones when nothing may be downloaded:

* :func:`synthesize_digits` -- spoken digits in the layout of AudioMNIST
  (``data/NN/{digit}_{NN}_{rep}.wav`` and ``data/audioMNIST_meta.txt``);
* :func:`synthesize_emotions` -- two statements in eight emotions in the layout of
  RAVDESS (``Actor_NN/03-01-EE-II-SS-RR-AA.wav``).

A third kind is the ground truth of the explanations:

* :func:`synthesize_cues` -- planted-cue corpora (``clips/``, ``speech/``, ``cues/``
  ``NN/{class}_{NN}_{rep}.wav``): a random spoken digit plus a cue (tone, band noise,
  click train or tone pair) that alone carries the label, its parameters in the manifest
  so that :func:`cue_signal` makes it again exactly.

Speech comes from the ``libespeak-ng`` shipped by the ``espeakng-loader`` wheel,
driven through :mod:`ctypes` (:func:`speak`). Every speaker is a distinct voice: an
espeak-ng voice variant of the speaker's gender in one of several English accents,
with its own base pitch, pitch range, speaking rate, loudness and recording noise,
all drawn deterministically from ``seed`` and the speaker id. Every take varies those
a little more, again deterministically.

espeak-ng's output is not bit-identical from one call to the next, so a corpus is
synthesized once and stored with a ``manifest.json`` that records every synthesis
parameter and the SHA-256 of every file. Calling a synthesizer again on the same
folder reuses a complete corpus, finishes an interrupted one, and refuses one made
with other parameters unless ``force=True``.

Nothing happens at import time: the library is loaded on first use, once per process.

Modules
-------
espeak
    the ctypes binding to espeak-ng (:func:`speak`, :func:`espeak_info`)
voices
    speakers and takes drawn from the seed (:class:`Speaker`, :class:`Take`)
render
    a take's samples: trimmed, scaled, resampled, limited, with noise (:data:`PROCESSING`)
corpus
    writing a corpus folder: manifest, reuse, resume, rebuild, events
digits, emotions
    the two corpora (:func:`synthesize_digits`, :func:`synthesize_emotions`)
cue_signals, cue_corpus, cues
    planted cues: their signals (:func:`cue_signal`), mixing and writing the clips, the
    corpus (:func:`synthesize_cues`, :func:`read_cue_manifest`)
checks
    parameter validation
"""
from __future__ import annotations

from .corpus import GENERATOR_VERSION, MANIFEST
from .cues import CUE_DEFAULTS, CUE_KINDS, class_bands, cue_classes, cue_signal, read_cue_manifest, synthesize_cues
from .digits import (
    DIGIT_WORDS,
    FEMALE_PARTICIPANTS,
    MAX_PARTICIPANTS,
    audiomnist_meta,
    participant_gender,
    synthesize_digits,
)
from .emotions import EMOTIONS, MAX_ACTORS, STATEMENTS, STRONG_FACTOR, emotion_prosody, synthesize_emotions
from .espeak import PITCH_RANGE, RANGE_RANGE, RATE_RANGE, VOLUME_RANGE, espeak_info, speak
from .render import PROCESSING
from .voices import ACCENTS, FEMALE_VARIANTS, MALE_VARIANTS, Speaker, Take

__all__ = [
    "CUE_DEFAULTS",
    "CUE_KINDS",
    "DIGIT_WORDS",
    "EMOTIONS",
    "FEMALE_PARTICIPANTS",
    "STATEMENTS",
    "audiomnist_meta",
    "class_bands",
    "cue_classes",
    "cue_signal",
    "espeak_info",
    "emotion_prosody",
    "participant_gender",
    "read_cue_manifest",
    "speak",
    "synthesize_cues",
    "synthesize_digits",
    "synthesize_emotions",
]
