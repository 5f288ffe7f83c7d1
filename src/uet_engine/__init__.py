"""uet_engine: plan, schedule, execute and persist workstreams using only the uet_contracts types."""
