"""Prometheus metrics with the names DESIGN.md promises; one registry per edge."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "agentcache_requests",
            "Object reads by namespace, class, result",
            ["namespace", "class", "result"],
            registry=r,
        )
        self.origin_requests = Counter(
            "agentcache_origin_requests", "Requests sent to origins", ["namespace"], registry=r
        )
        self.origin_bytes = Counter(
            "agentcache_origin_bytes", "Body bytes read from origins", ["namespace"], registry=r
        )
        self.served_bytes = Counter(
            "agentcache_served_bytes",
            "Body bytes sent to clients",
            ["namespace", "tier"],
            registry=r,
        )
        self.duration = Histogram(
            "agentcache_request_duration_seconds",
            "Object request time to last byte",
            ["result"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.writes = Counter(
            "agentcache_writes",
            "PUT and DELETE through the edge",
            ["namespace", "method"],
            registry=r,
        )

    def record_read(
        self,
        namespace: str,
        content_class: str,
        result: str,
        tier: str,
        body_bytes: int,
        seconds: float,
    ) -> None:
        self.requests.labels(namespace, content_class, result).inc()
        self.served_bytes.labels(namespace, tier).inc(body_bytes)
        self.duration.labels(result).observe(seconds)

    def record_origin(self, namespace: str) -> None:
        self.origin_requests.labels(namespace).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
