"""`speech-api serve`: run the API with Uvicorn, with the embedded S3 when none is configured."""

from __future__ import annotations

import argparse
import logging

from speech_api.config import get_settings, use_settings


def serve(host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    from speech_api.app import create_app
    from speech_api.local import (
        LocalQueueWorker,
        needs_embedded_s3,
        prepare_bucket,
        prepare_upload_queue,
        start_embedded_s3,
        with_embedded_s3,
    )

    settings = get_settings()
    host = host or settings.host
    port = settings.port if port is None else port
    embedded = worker = None
    if needs_embedded_s3(settings):
        embedded = start_embedded_s3(host="127.0.0.1")
        settings = with_embedded_s3(settings, embedded.endpoint_url)
        use_settings(settings)  # the worker's Lambda handler reads the process settings
        prepare_bucket(settings)
        queue = prepare_upload_queue(settings)
        # The same handler Lambda runs behind the S3 -> SQS event source mapping.
        from handlers.transcribe_upload import handler as transcribe_upload

        worker = LocalQueueWorker(settings, queue, transcribe_upload).start()

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"Speech API     http://{shown}:{port}")
    print(f"Swagger UI     http://{shown}:{port}/docs")
    if embedded:
        print(
            f"S3 (embedded)  {embedded.endpoint_url}  bucket '{settings.s3.bucket}', "
            f"anonymous read on '{settings.public_prefix}' only"
        )
    else:
        print(f"S3             {settings.s3.endpoint_url or 'AWS'}  bucket '{settings.s3.bucket}'")
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level)
    finally:
        if worker:
            worker.stop()
        if embedded:
            embedded.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="speech-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the HTTP API")
    p_serve.add_argument("--host", default=None, help="default: HOST or 127.0.0.1")
    p_serve.add_argument("--port", type=int, default=None, help="default: PORT or 8000")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port)


if __name__ == "__main__":
    main()
