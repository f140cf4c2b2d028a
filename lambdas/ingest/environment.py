"""What the ingest function's environment carries besides its settings: switches libraries read at start.

Arrow's default allocator (mimalloc) keeps a heap per thread and holds on to what it freed. An
invocation builds a few small tables, so the C library's allocator costs no measurable time, and
it keeps peak RSS ~50 MiB lower when the local run invokes several subreddits at once (``make bench``).
Arrow reads the variable once, before the first allocation: it must be set before pyarrow loads.
"""

LIBRARY_ENVIRONMENT = {"ARROW_DEFAULT_MEMORY_POOL": "system"}
