"""The pipeline on one machine: the same handlers and jobs, on embedded stand-ins."""
