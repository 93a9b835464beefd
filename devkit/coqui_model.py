"""Build a Coqui Tacotron2-DDC + HiFiGAN pair with random weights, saved exactly as released
models are (checkpoint + config.json each), so tests load it through Coqui's real loading path.

Real weights cannot be downloaded here. Tacotron2's widths are fixed by its architecture, so
its per-step cost is the real model's; the vocoder is a small HiFiGAN generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CoquiModelFiles:
    model_path: Path
    config_path: Path
    vocoder_path: Path
    vocoder_config_path: Path


def build_random_tacotron2_ddc(
    out_dir: Path, *, seed: int = 0, full_vocoder: bool = False
) -> CoquiModelFiles:
    import torch
    from TTS.tts.configs.tacotron2_config import Tacotron2Config
    from TTS.tts.models.tacotron2 import Tacotron2
    from TTS.vocoder.configs.hifigan_config import HifiganConfig
    from TTS.vocoder.models import setup_generator

    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    # The released LJSpeech tacotron2-DDC settles at r=2 with a DDC coarse decoder (r=6).
    # Characters instead of phonemes: no espeak-ng binary on this machine.
    config = Tacotron2Config(
        r=2,
        double_decoder_consistency=True,
        ddc_r=6,
        use_phonemes=False,
        text_cleaner="english_cleaners",
        max_decoder_steps=500,
    )
    config.audio.sample_rate = 22050
    model = Tacotron2(config)
    files = CoquiModelFiles(
        model_path=out_dir / "model.pth",
        config_path=out_dir / "config.json",
        vocoder_path=out_dir / "vocoder.pth",
        vocoder_config_path=out_dir / "vocoder_config.json",
    )
    torch.save({"model": model.state_dict(), "config": config.to_dict()}, files.model_path)
    config.save_json(str(files.config_path))

    vocoder_config = HifiganConfig()
    if not full_vocoder:
        vocoder_config.generator_model_params = {
            "upsample_factors": [8, 8, 4],
            "upsample_kernel_sizes": [16, 16, 8],
            "upsample_initial_channel": 32,
            "resblock_kernel_sizes": [3],
            "resblock_dilation_sizes": [[1, 3, 5]],
            "resblock_type": "1",
        }
    vocoder_config.audio.sample_rate = 22050
    generator = setup_generator(vocoder_config)
    # Generator-only checkpoint ("model_disc" present): how released vocoders are stored.
    torch.save({"model": generator.state_dict(), "model_disc": {}}, files.vocoder_path)
    vocoder_config.save_json(str(files.vocoder_config_path))
    return files
