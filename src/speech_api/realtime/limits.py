"""Timing constants that the app, its load balancer and CloudFront must agree on (the CDK
stack reads them; tests check the template against them)."""

# The server pings every live session this often, and drops one whose pong is this late:
# the pings are also what keeps an idle WebSocket open through the load balancer (its idle
# timeout must exceed the interval) and CloudFront (10 minutes without bytes from the origin).
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 20.0
# CloudFront closes a WebSocket after this long without bytes from the origin (not adjustable).
CLOUDFRONT_IDLE_S = 600
