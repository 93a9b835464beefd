"""Live transcription over WebSocket, OpenAI's Realtime transcription protocol: the protocol
(`protocol`), one session's state (`session`), voice activity (`vad`), partial text
(`partials`), decoding (`decoding`, `scheduler`), and the connection that runs a session
(`connection`; its route is api/routers/realtime.py). Nothing here is imported by the light
API function: the modules below `protocol` need numpy and the models.
"""
