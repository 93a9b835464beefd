"""Put models into an image at build time, so nothing downloads at run time.

    python -m speech_api.runtime.prefetch --stt-model base --tts-engine coqui --dest /opt/models

STT: a local model directory or a bundled name is copied; any other name is downloaded by
faster-whisper. The image then sets ``STT_MODEL=<dest>/stt``. Coqui: the model manager
downloads the model (and its default vocoder) into ``TTS_HOME``, where the same name resolves
offline at run time. Piper's default voice ships as a Python package; other voices
(``--piper-voices``, e.g. the Spanish voice of ``TTS_SPANISH_VOICE``) are downloaded into
``<dest>/voices``, which the image names as ``TTS_PIPER_VOICES_DIR``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from speech_api.engines.stt.whisper_models import resolve_model

_STT_FILES = (
    "model.bin",
    "config.json",
    "tokenizer.json",
    "vocabulary.json",
    "vocabulary.txt",
    "preprocessor_config.json",
)


def prefetch_stt(model: str, dest: Path) -> Path:
    target = dest / "stt"
    source = resolve_model(model, dest / "cache")
    if not Path(source).is_dir():
        from faster_whisper import download_model

        source = download_model(model, output_dir=str(dest / "download"))
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for name in _STT_FILES:
        if (Path(source) / name).is_file():
            shutil.copy2(Path(source) / name, target / name)
            copied += 1
    if not (target / "model.bin").is_file():
        raise FileNotFoundError(f"no model.bin in {source}")
    shutil.rmtree(dest / "cache", ignore_errors=True)
    shutil.rmtree(dest / "download", ignore_errors=True)
    return target


def prefetch_piper_voices(voices: list[str], dest: Path) -> Path:
    """Each voice into ``dest/voices`` as NAME.onnx + NAME.onnx.json: a local .onnx path is
    copied, a bundled voice is skipped (its package is installed), any other name is
    downloaded with Piper's own downloader."""
    from speech_api.engines.tts.piper import _BUNDLED_VOICES

    target = dest / "voices"
    target.mkdir(parents=True, exist_ok=True)
    for voice in voices:
        source = Path(voice)
        if source.suffix == ".onnx" and source.is_file():
            shutil.copy2(source, target / source.name)
            shutil.copy2(source.with_suffix(".onnx.json"), target / f"{source.name}.json")
        elif voice not in _BUNDLED_VOICES:
            from piper.download_voices import download_voice

            download_voice(voice, target)
            if not (target / f"{voice}.onnx").is_file():
                raise FileNotFoundError(f"Piper voice '{voice}' was not downloaded")
    return target


def prefetch_coqui(model: str) -> None:
    from TTS.api import TTS

    TTS(model, progress_bar=False)  # downloads into TTS_HOME


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m speech_api.runtime.prefetch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stt-model", default="base")
    parser.add_argument("--tts-engine", choices=["piper", "coqui"], default="piper")
    parser.add_argument("--coqui-model", default="tts_models/en/ljspeech/tacotron2-DDC")
    parser.add_argument(
        "--piper-voices", default="", help="comma-separated Piper voice names (or .onnx paths)"
    )
    parser.add_argument("--dest", type=Path, required=True)
    args = parser.parse_args(argv)
    print(f"STT model -> {prefetch_stt(args.stt_model, args.dest)}")
    voices = [v.strip() for v in args.piper_voices.split(",") if v.strip()]
    if args.tts_engine == "piper" and voices:
        print(f"Piper voices -> {prefetch_piper_voices(voices, args.dest)}")
    if args.tts_engine == "coqui":
        prefetch_coqui(args.coqui_model)
        print(f"Coqui model {args.coqui_model} cached")


if __name__ == "__main__":
    main()
