"""Decoding: a clip is decoded once, frames are streamed, audio is 16 kHz mono by default."""

from .video import VideoInfo, decode_audio, iter_frames, probe

__all__ = ["VideoInfo", "decode_audio", "iter_frames", "probe"]
