"""Timing constants that the app, its load balancer and CloudFront must agree on (the CDK
stack reads them; tests check the template against them)."""

# The server pings every live session this often: the pings keep a quiet WebSocket open
# through the load balancer (its idle timeout must exceed the interval) and CloudFront (10
# minutes without bytes from the origin).
PING_INTERVAL_S = 20.0
# No deadline for the pong: a client that sends audio faster than it is transcribed is read at
# the decoder's pace, so its pong waits behind its own audio and may come late; a dead client
# sends no events either, and REALTIME_IDLE_TIMEOUT_S ends its session.
PING_TIMEOUT_S = None
# CloudFront closes a WebSocket after this long without bytes from the origin (not adjustable).
CLOUDFRONT_IDLE_S = 600
