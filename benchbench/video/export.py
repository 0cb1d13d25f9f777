"""Write a generated clip as MP4 (H.264, with an AAC audio track when there is audio) via imageio-ffmpeg."""

from __future__ import annotations

import tempfile
import wave
from pathlib import Path
from typing import Any


def write_wav(path: Path, samples: Any, sample_rate: int) -> None:
    """16-bit PCM WAV from a float waveform [channels, samples] in [-1, 1] (numpy or torch)."""
    import numpy as np

    data = np.asarray(samples.cpu() if hasattr(samples, "cpu") else samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[None]
    pcm = (np.clip(data, -1.0, 1.0) * 32767.0).astype("<i2").T.copy()   # interleaved [samples, channels]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(pcm.tobytes())


def write_mp4(path: Path, frames: Any, fps: float, audio: Any = None, sample_rate: int | None = None) -> Path:
    """frames: numpy [n, height, width, 3] floats in [0, 1]. Returns the path written."""
    import imageio_ffmpeg
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)
    height, width = pixels.shape[1:3]
    with tempfile.TemporaryDirectory() as tmp:
        audio_path = None
        if audio is not None and sample_rate:
            audio_path = str(Path(tmp) / "audio.wav")
            write_wav(Path(audio_path), audio, sample_rate)
        writer = imageio_ffmpeg.write_frames(str(path), (width, height), fps=fps, codec="libx264",
                                             macro_block_size=1, ffmpeg_log_level="error",
                                             audio_path=audio_path, audio_codec="aac" if audio_path else None)
        writer.send(None)
        for frame in pixels:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(f"ffmpeg wrote nothing to {path}")
    return path
