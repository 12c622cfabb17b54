"""Hot state shared by the processes of the cluster profile (Redis): dedup keys, rate limits.

The embedded profile keeps the same state in process memory (`collector.dedup.DedupIndex`,
the buckets of `api.ratelimit`); these classes behave the same, and the contract tests hold
both to it.
"""
