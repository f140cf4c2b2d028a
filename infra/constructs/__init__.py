"""Our own constructs; secure defaults live here, once."""
