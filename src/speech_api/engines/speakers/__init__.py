"""Speaker encoders (a voice as a vector: diarization and named speakers), one adapter each."""
