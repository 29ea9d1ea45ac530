"""Audio: reading files (:mod:`.reading`), the models' representations (:mod:`.features`:
AlexNet spectrograms, mel features) and resynthesis of explanations as sound (:mod:`.resynthesis`).

Every function but the readers is pure: samples in, arrays out.
"""
from .reading import Audio, AudioInfo, probe_audio, read_audio

__all__ = ["Audio", "AudioInfo", "probe_audio", "read_audio"]
