"""What is analysed: one scoring run over canonical frames, and what of it may leave the team."""

from crmkit.pipeline.run import *  # noqa: F403
from crmkit.pipeline.run import SegmentOptions, SegmentResult, segment  # noqa: F401
