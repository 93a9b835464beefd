"""Uploads of any size straight to S3 (presigned), and their transcripts by id."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from speech_api.api.deps import UploadsDep, offload
from speech_api.schemas import (
    ErrorResponse,
    PendingTranscript,
    StoredTranscript,
    UploadRequest,
    UploadResponse,
)

router = APIRouter(tags=["uploads"])


@router.post("/uploads", response_model=UploadResponse)
async def create_upload(body: UploadRequest, uploads: UploadsDep) -> UploadResponse:
    """A presigned form to upload a file (up to MAX_LONG_UPLOAD_BYTES) straight to S3 under
    uploads/; its transcript appears at `transcript_url`."""
    return await offload(
        uploads.create_upload,
        filename=body.filename,
        content_type=body.content_type,
        language=body.language,
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
async def get_transcript(upload_id: str, uploads: UploadsDep):
    result = await offload(uploads.get_transcript, upload_id)
    if isinstance(result, PendingTranscript):
        return JSONResponse(result.model_dump(exclude_none=True), status_code=202)
    return result
