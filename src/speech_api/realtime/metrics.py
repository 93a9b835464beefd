"""The live session count as a CloudWatch metric, which the deployed service scales on: every
`INTERVAL_S` each task puts `ActiveSessions` (dimension `Service`), so the metric's Average is
sessions per task, what target tracking wants (REALTIME_METRICS_NAMESPACE turns it on).
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

INTERVAL_S = 30.0
METRIC = "ActiveSessions"
DIMENSION = "Service"


class SessionMetrics:
    def __init__(self, hub, namespace: str, service: str, region: str, client=None):
        self.hub = hub
        self.namespace = namespace
        self.service = service
        self.region = region
        self._client = client
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self) -> None:
        if self._client is None:
            import boto3

            self._client = boto3.client("cloudwatch", region_name=self.region)
        self._client.put_metric_data(
            Namespace=self.namespace,
            MetricData=[
                {
                    "MetricName": METRIC,
                    "Dimensions": [{"Name": DIMENSION, "Value": self.service}],
                    "Value": float(self.hub.active),
                    "Unit": "Count",
                }
            ],
        )

    def start(self, interval_s: float = INTERVAL_S) -> SessionMetrics:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.publish()
                except Exception:  # no metric this round; scaling reads the next one
                    log.warning("could not publish %s", METRIC, exc_info=True)
                self._stop.wait(interval_s)

        self._thread = threading.Thread(target=loop, name="live-metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
