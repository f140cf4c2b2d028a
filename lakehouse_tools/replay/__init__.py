"""A local stand-in for the part of Reddit's OAuth API the pipeline uses."""
