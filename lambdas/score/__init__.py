"""The scoring function: problem posts assessed as product opportunities (Bedrock, or the offline heuristic)."""
