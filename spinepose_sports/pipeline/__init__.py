"""The pipeline: wires the stages together; draws and plots nothing itself.

video ─► frames (streamed) ─► track ─► pose per track ─► [stitch, filter ─► smooth ─►
kinematics] ─► save ─► overlay (a second streamed pass over the video).

One module per concern:

* :mod:`.stages`: the stage contracts, loading the models, timing;
* :mod:`.stream`: the streaming pass over the frames (decode, track, pose);
* :mod:`.chain`: the post-processing chain after the pose stage;
* :mod:`.record`: the run record (``run.json``);
* :mod:`.job`: one input (a video, or a saved ``poses.nc``);
* :mod:`.batch`: the batch policy (folders, skipping completed runs, failures).

The results folder itself (file names, atomic writes, stale outputs) is
:mod:`spinepose_sports.results`; the settings are :mod:`spinepose_sports.config`.
"""

from ..config import AnalyzeConfig
from .batch import (
    VIDEO_SUFFIXES,
    already_completed,
    analyze_batch,
    expand_inputs,
    plan_folders,
    print_summary,
)
from .chain import finish_from_poses, postprocess_tracks, quality_params
from .job import VideoResult, analyze_poses_file, analyze_video
from .stages import PoseEstimator, Stages, StageTimer, Tracker, load_stages
from .stream import track_and_estimate

__all__ = [
    "VIDEO_SUFFIXES",
    "AnalyzeConfig",
    "PoseEstimator",
    "StageTimer",
    "Stages",
    "Tracker",
    "VideoResult",
    "already_completed",
    "analyze_batch",
    "analyze_poses_file",
    "analyze_video",
    "expand_inputs",
    "finish_from_poses",
    "load_stages",
    "plan_folders",
    "postprocess_tracks",
    "print_summary",
    "quality_params",
    "track_and_estimate",
]
