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

# Sentences full of what a voice's phonemizer reads badly on its own (numbers, currency,
# dates, times, units, abbreviations, URLs, e-mail, Markdown, emoji): the spoken-form round
# trip (bench/narration.py) speaks each before and after normalization and hears it back.
NARRATION_SENTENCES = [
    "Your order of $3.50 shipped on 03/15/2024 and arrives by 5:30 pm.",
    "The meeting moved to 2024-11-05 at 10:15 am in room 4B.",
    "Call our office at 555-123-4567 before Friday.",
    "Visit https://www.example.com/support for the full guide.",
    "Send the signed form to jane.doe@example.com today.",
    "The summit is 4,810 m high and the trail is 12.5 km long.",
    "Dr. Smith said the dose is 250 mg, twice a day.",
    "Prices rose 3.7% in the 2nd quarter, e.g. for fuel.",
    "It was 25°C at noon and 18°C by 9 pm.",
    "## Summary: the **three** key points are listed below.",
    "Great news 🎉 the 21st edition sold 1,200 copies!",
    "The budget grew from $1.5M in 2019 to $2.3M in 2023.",
    "Mix 1/2 cup of flour with 3/4 cup of milk.",
    "Chapter IV begins in the 1990s, in St. Louis.",
    "The flight leaves at 14:45 from gate 22 on Jan. 5, 2025.",
    "A 5-year-old scored 98% on the test, No. 1 in class.",
    "Download the 2.4 GB file at 100 MB per second.",
    "Rates run 10-15% for loans of $10,000 or more.",
    "The 3rd and 4th floors close at 6:00 pm, i.e. early.",
    "Mr. and Mrs. Lee paid €45.99 for 2 tickets.",
]
