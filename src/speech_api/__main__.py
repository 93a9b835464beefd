from speech_api.runtime.cli import main

main()
