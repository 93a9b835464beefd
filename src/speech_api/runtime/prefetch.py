"""Put models into an image at build time, so nothing downloads at run time.

    python -m speech_api.runtime.prefetch --stt-model base --tts-engine NAME --dest /opt/models

The STT engine's models, and the chosen TTS engine's, each by its own model step (its spec's
`prefetch`, engines/registry.py): the options below come from those specs. Every engine's
options are accepted whichever engine is chosen, so an image build can pass them all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from speech_api.engines import registry
from speech_api.engines.spec import EngineSpec, prefetch_value_name


def prefetch(spec: EngineSpec, dest: Path, values: dict[str, str]) -> str | None:
    """Run ``spec``'s model step into ``dest`` with its options' values (by flag; a flag left
    out takes its default); what it did."""
    if spec.prefetch is None:
        return None
    options = {
        prefetch_value_name(flag): values.get(flag, default)
        for flag, default in spec.prefetch.options.items()
    }
    return spec.prefetch.run(dest, **options)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m speech_api.runtime.prefetch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--tts-engine", choices=registry.tts_names(), default=registry.DEFAULT_TTS_ENGINE
    )
    for spec in registry.all_engines():
        for flag, default in (spec.prefetch.options if spec.prefetch else {}).items():
            parser.add_argument(flag, default=default, help=f"{spec.name}'s model step")
    parser.add_argument("--dest", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    values = {f"--{name.replace('_', '-')}": value for name, value in vars(args).items()}
    for spec in (registry.stt_engine(), registry.tts_engine(args.tts_engine)):
        if (done := prefetch(spec, args.dest, values)) is not None:
            print(done)


if __name__ == "__main__":
    main()
