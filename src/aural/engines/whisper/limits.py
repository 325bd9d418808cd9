"""Whisper's window and the quality thresholds every Whisper path shares (defined once).

The thresholds are faster-whisper's defaults for "this decode failed": the engine's
short windows, its chunked long form, its fallback to faster-whisper and the streaming
sessions all judge decodes by them.
"""

from __future__ import annotations

WINDOW_S = 30.0  # Whisper's input window (seconds)
FRAMES_PER_SECOND = 100  # log-mel frames per second
MAX_FRAMES = int(WINDOW_S * FRAMES_PER_SECOND)  # the 30-second window in mel frames
NO_SPEECH_THRESHOLD = 0.6  # no-speech probability above which a quiet decode is silence
LOG_PROB_THRESHOLD = -1.0  # average log probability below which a decode failed
COMPRESSION_RATIO_THRESHOLD = 2.4  # gzip ratio above which text is a repetition loop
MAX_WORDS_PER_SECOND = 4.5  # more words than this per second of audio is a loop too
