from speech_api.cli import main

main()
