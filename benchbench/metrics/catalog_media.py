"""TTS and video metrics (one generation per iteration: a request is the iteration's one synthesis or clip)."""

from __future__ import annotations

from .model import Metric, register

TTS, VIDEO = ("tts",), ("video",)

register(
    Metric("chars", "chars", "request", "chars", "Characters of the text synthesized.", fmt="int", kinds=TTS),
    Metric("audio_s", "s", "request", "audio", "Length of the audio produced: samples ÷ sample rate.",
           kinds=TTS, title="audio length"),
    Metric("rtf", "", "request", "RTF",
           "Real-time factor: gen_s ÷ audio_s (below 1 is faster than real time).",
           direction="lower", kinds=TTS, title="real-time factor"),
    Metric("sample_rate", "Hz", "request", "sample rate", "Sample rate of the audio written.", fmt="int",
           iterations="last", kinds=TTS),
    Metric("rtf_best", "", "run", "best RTF", "The lowest RTF among the measured runs of a group.",
           direction="lower", requests=None, iterations=None, kinds=TTS, inputs=("speed",)),
    Metric("chars_per_audio_s", "chars/s", "run", "chars per audio s",
           "Speaking rate: characters ÷ seconds of audio, over the group's measured runs (prices cloud TTS "
           "quoted per character per audio hour).",
           requests=None, iterations=None, kinds=TTS, inputs=("speed",)),
    Metric("first_run_penalty_pct", "%", "run", "first-run penalty",
           "The first run's RTF above the median of the session's later runs, averaged over sessions.",
           direction="lower", requests=None, iterations=None, fmt="pct", kinds=TTS),
    section="TTS")

register(
    Metric("frames", "frames", "request", "frames", "Frames of the clip.", fmt="int", iterations="last",
           kinds=VIDEO),
    Metric("fps", "frames/s", "request", "fps", "Frame rate of the clip.", iterations="last", kinds=VIDEO),
    Metric("video_s", "s", "request", "clip", "Length of the clip: frames ÷ fps.", kinds=VIDEO,
           title="clip length"),
    Metric("width", "px", "request", "width", "Width of the clip.", fmt="int", iterations="last", kinds=VIDEO),
    Metric("height", "px", "request", "height", "Height of the clip.", fmt="int", iterations="last",
           kinds=VIDEO),
    Metric("audio", "", "request", "audio", "Whether the pipeline produced an audio track.", fmt="bool",
           requests="any", iterations=None, kinds=VIDEO),
    Metric("stages_s", "s", "request", "stage",
           "Seconds per pipeline stage (text_encode, stage1, upsample, stage2, decode); columns stages_s.<stage>.",
           direction="lower", keyed=True, kinds=VIDEO),
    Metric("step_s", "s", "request", "step times",
           "Each denoising step's seconds per stage (a list per stage); kept in the record, not averaged.",
           iterations=None, keyed=True, fmt="list", kinds=VIDEO),
    Metric("mean_step_s", "s", "request", "mean step", "Mean seconds of one denoising step, per stage.",
           direction="lower", keyed=True, kinds=VIDEO),
    Metric("peak_mem_gb", "GB", "request", "peak",
           "Peak memory allocated per device during the clip (CUDA devices only); columns peak_mem_gb.<device>.",
           direction="lower", keyed=True, kinds=VIDEO),
    Metric("weights_gb", "GB", "request", "weights", "Weights resident per device.", keyed=True,
           iterations="last", kinds=VIDEO),
    Metric("text_encoder_load_s", "s", "request", "text encoder load",
           "Seconds to load the text encoder when it is loaded per clip.", direction="lower", kinds=VIDEO),
    Metric("queue_s", "s", "request", "queued", "Seconds the job waited in the server's queue.",
           direction="lower", kinds=VIDEO),
    Metric("download_s", "s", "request", "download", "Seconds to download the finished clip.",
           direction="lower", kinds=VIDEO),
    Metric("poll_s", "s", "request", "poll interval", "How often the job's status was polled.",
           iterations="last", kinds=VIDEO),
    Metric("timing_source", "", "request", "timed by",
           "server (the job's own timestamps) or observed (status polls, within poll_s).",
           requests="mode", iterations=None, fmt="text", kinds=VIDEO),
    Metric("pipeline_gen_s", "s", "request", "pipeline",
           "The pipeline call alone, as the job server measured it.", direction="lower", kinds=VIDEO),
    Metric("mp4_bytes", "bytes", "request", "MP4 size", "Size of the downloaded clip.", fmt="int", kinds=VIDEO),
    Metric("seconds_requested", "s", "request", "asked for", "Clip length the job asked for.",
           iterations="last", kinds=VIDEO),
    Metric("seed", "", "request", "seed", "The generation seed.", iterations="last", fmt="text", kinds=VIDEO),
    Metric("gen_min", "min", "run", "generation", "gen_s in minutes (the unit video users quote).",
           direction="lower", requests=None, iterations=None, kinds=VIDEO, inputs=("speed",)),
    section="Video")
