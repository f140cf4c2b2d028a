"""Infrastructure as code: typed environment config, secure constructs and stacks."""
