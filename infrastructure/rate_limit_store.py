"""The shared rate limit store (CRM_RATE_LIMIT_STORE=redis://...): token buckets in Redis, one hash per key,
refilled and taken from atomically by a script on Redis' own clock, so every `crm serve` process, on any host,
draws from the same buckets. Processes lease a few tokens at a time (api/common/rate_limits.py `LeasedBuckets`),
so this is asked once per lease, not once per request.

A call gives up after `timeout` seconds and is never retried here: the caller limits locally meanwhile.
"""
from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

# KEYS[1]: the bucket; ARGV: rate (tokens/s), burst, tokens wanted, unspent tokens given back.
# Returns {tokens granted, seconds until the next token when none were}; the bucket expires once it would be full.
LEASE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local want, back = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local kept = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(kept[1]) or burst, tonumber(kept[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate + back)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1)
local wait = 0
if granted == 0 then wait = (1 - tokens) / rate end
return {granted, tostring(wait)}
"""


class RedisRateLimitStore:
    def __init__(self, url: str, prefix: str, timeout: float = 0.25) -> None:
        self.prefix = prefix
        self._redis = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                     retry=Retry(NoBackoff(), 0), health_check_interval=0)
        self._lease = self._redis.register_script(LEASE)

    async def lease(self, key: str, want: int, given_back: int, rate: float, burst: float) -> tuple[int, float]:
        """Up to `want` tokens of bucket `key` (after putting back `given_back` unspent ones): how many were
        granted and, when none, the seconds until the next one. Raises whatever Redis raises."""
        granted, wait = await self._lease(keys=[self.prefix + key], args=[rate, burst, want, given_back])
        return int(granted), float(wait)

    async def aclose(self) -> None:
        await self._redis.aclose()


def rate_limit_store(url: str | None, prefix: str) -> RedisRateLimitStore | None:
    return RedisRateLimitStore(url, prefix) if url else None
