"""Uploads of any size straight to S3 (presigned), and their transcripts by id."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from speech_api.api.deps import UploadsDep, offload
from speech_api.formats import StoredTranscriptFormat
from speech_api.schemas import (
    ErrorResponse,
    PendingTranscript,
    StoredTranscript,
    UploadRequest,
    UploadResponse,
)
from speech_api.service.transcription_request import UPLOADS, TranscriptionRequest
from speech_api.service.transcripts import render_stored

router = APIRouter(tags=["uploads"])


@router.post("/uploads", response_model=UploadResponse)
async def create_upload(body: UploadRequest, uploads: UploadsDep) -> UploadResponse:
    """A presigned form to upload a file (up to MAX_LONG_UPLOAD_BYTES) straight to S3 under
    uploads/; its transcript appears at `transcript_url`, and `callback_url` (optional) is
    POSTed a message when it is done or has failed."""
    options = {name: getattr(body, name) for name in TranscriptionRequest.taken_by(UPLOADS)}
    return await offload(
        uploads.create_upload,
        filename=body.filename,
        content_type=body.content_type,
        options=TranscriptionRequest.parse(options, UPLOADS),
        callback_url=body.callback_url,
    )


@router.get(
    "/transcripts/{upload_id:path}",
    response_model=StoredTranscript,
    responses={
        202: {"model": PendingTranscript, "description": "Not transcribed yet"},
        404: {"model": ErrorResponse, "description": "Unknown id"},
        422: {"model": ErrorResponse, "description": "Transcription failed"},
    },
)
async def get_transcript(
    upload_id: str, uploads: UploadsDep, format: StoredTranscriptFormat = "json"
):
    """The transcript when done (`format`: json, or text, srt, vtt as the files stored
    beside it), 202 while pending or processing (with progress in seconds of audio), 422 with
    the reason when it failed."""
    result = await offload(uploads.get_transcript, upload_id)
    if isinstance(result, PendingTranscript):
        body = result.model_dump(exclude_none=True)
        if result.progress is not None:  # audio_s_total stays, null until the audio is decoded
            body["progress"] = result.progress.model_dump()
        return JSONResponse(body, status_code=202)
    if format != "json":
        rendered = render_stored(result, format)
        return Response(rendered.body, media_type=rendered.media_type)
    return result
