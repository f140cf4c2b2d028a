"""The lake's storage: one interface over S3 and a local directory, and the zones' layouts."""
