"""Speech jobs: `POST /tts/jobs` (long text or SSML, spoken asynchronously) and
`GET /tts/jobs/{id}` (status, progress, and the result)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from speech_api.api.deps import offload
from speech_api.schemas import ErrorResponse, SpeechJob, SpeechJobRequest
from speech_api.service.speech_jobs import SpeechJobs

router = APIRouter(tags=["speech jobs"])


def _jobs(request: Request) -> SpeechJobs:
    return request.app.state.speech_jobs


JobsDep = Annotated[SpeechJobs, Depends(_jobs)]


@router.post(
    "/tts/jobs",
    response_model=SpeechJob,
    status_code=202,
    responses={
        200: {"model": SpeechJob, "description": "The same job exists: done, or under way"},
        429: {"model": ErrorResponse, "description": "Too many jobs queued or running"},
    },
)
async def create_job(body: SpeechJobRequest, jobs: JobsDep):
    """Queue a long text (up to 200,000 characters, plain or SSML) to be spoken; 202 with the
    job's `id` and `status_url`. The same request again answers 200 with that job (its audio,
    once done). `callback_url` is POSTed a message when it is done or has failed; so is the
    SNS topic."""
    job, created = await offload(jobs.submit, body)
    return JSONResponse(
        job.model_dump(mode="json"),
        status_code=202 if created else 200,
        headers={"Location": job.status_url},
    )


@router.get(
    "/tts/jobs/{job_id}",
    response_model=SpeechJob,
    responses={404: {"model": ErrorResponse, "description": "Unknown id"}},
)
async def get_job(job_id: str, jobs: JobsDep) -> SpeechJob:
    """`queued`, `running` with its progress (characters and seconds of audio done), `done`
    with the public `url` of its audio and its `captions`, or `failed` with the `error`."""
    return await offload(jobs.status, job_id)
