"""The worker process: consumes the inbound partitions, runs the pipeline, relays the outbox."""
