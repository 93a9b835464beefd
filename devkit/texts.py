"""Fixed texts for speech round trips and TTS benchmarks."""

# Everyday sentences of the kind users send: Whisper hears them with context, so errors point at
# the speech, not at contextless test phrases (Harvard sentences measured 7-13 % WER here).
SENTENCES = [
    "Your package has shipped and should arrive on Tuesday afternoon.",
    "Please remember to bring your passport to the airport tomorrow morning.",
    "The meeting has been moved to the large conference room on the third floor.",
    "Thank you for calling, all of our agents are currently busy.",
    "The weather today will be sunny with a light breeze from the west.",
    "Turn left at the next intersection and continue straight for two miles.",
    "Your account balance is lower than usual this month.",
    "The library will be closed on Monday for the national holiday.",
    "We recommend updating the application to the latest version.",
    "Dinner is ready, so please wash your hands and come to the table.",
    "The train to the city center leaves from platform number four.",
    "Our customer support team is available every day of the week.",
]
