"""What stands in, on this machine, for engine weights that cannot be downloaded here (no model
hub reachable): for each registered engine that needs one, the environment a local server
runs it with (the bench), and the seed an image build copies into its model cache
(`make image`). An engine not listed here runs with its real, installable weights.

Coqui's released Tacotron2-DDC + HiFiGAN: the same architecture with random weights
(coqui_model.py), loaded through Coqui's own loading path.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from devkit.images import CACHE, REPO

# Coqui's model manager names its models, and keeps them in $TTS_HOME/tts/<name with -->.
_COQUI_MODEL = "tts_models/en/ljspeech/tacotron2-DDC"
_COQUI_VOCODER = "vocoder_models/en/ljspeech/hifigan_v2"


def server_env(engine: str, folder: Path) -> dict[str, str]:
    """The environment of a server that synthesizes with ``engine`` here (its settings
    pointing at stand-in weights made in ``folder``); just TTS_ENGINE when it needs none."""
    env = {"TTS_ENGINE": engine}
    if engine == "coqui":
        from devkit.coqui_model import build_random_tacotron2_ddc

        # Full-size Tacotron2-DDC + HiFiGAN: the real model's compute, random weights.
        files = build_random_tacotron2_ddc(folder, full_vocoder=True)
        env |= {
            "TTS_COQUI_MODEL_PATH": str(files.model_path),
            "TTS_COQUI_CONFIG_PATH": str(files.config_path),
            "TTS_COQUI_VOCODER_PATH": str(files.vocoder_path),
            "TTS_COQUI_VOCODER_CONFIG_PATH": str(files.vocoder_config_path),
            "TTS_COQUI_MAX_DECODER_STEPS": "400",  # random weights may never stop
        }
    return env


def image_seed(engine: str) -> tuple[str, Path] | None:
    """(the Dockerfile's build argument, a folder) to lend an image build of ``engine`` in
    place of a model download; None when the engine downloads nothing."""
    if engine == "coqui":
        return "COQUI_MODEL_SEED", _coqui_seed()
    return None


def _coqui_seed() -> Path:
    """A Coqui model cache (TTS_HOME layout) holding a Tacotron2-DDC + HiFiGAN pair built
    with random weights under the released names; made once with the host's Coqui."""
    seed = CACHE / "coqui-seed"
    if (seed / ".complete").is_file():
        return seed
    shutil.rmtree(seed, ignore_errors=True)
    work = CACHE / "coqui-seed.tmp"
    shutil.rmtree(work, ignore_errors=True)
    code = (
        "import sys; from pathlib import Path; "
        "from devkit.coqui_model import build_random_tacotron2_ddc as b; "
        "f = b(Path(sys.argv[1])); "
        "print(f.model_path, f.config_path, f.vocoder_path, f.vocoder_config_path)"
    )
    out = subprocess.run(
        [str(REPO / ".venv/bin/python"), "-c", code, str(work)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stdout.split()
    model, config, vocoder, vocoder_config = (Path(p) for p in out[-4:])
    for name, (checkpoint, cfg) in (
        (_COQUI_MODEL, (model, config)),
        (_COQUI_VOCODER, (vocoder, vocoder_config)),
    ):
        # Coqui's model manager keeps models in $TTS_HOME/tts/<type>--<lang>--<dataset>--<name>.
        target = seed / "tts" / name.replace("/", "--")
        target.mkdir(parents=True)
        shutil.copy2(checkpoint, target / "model_file.pth")
        shutil.copy2(cfg, target / "config.json")
    shutil.rmtree(work, ignore_errors=True)
    (seed / ".complete").touch()
    return seed
