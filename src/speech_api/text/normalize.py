"""Spoken form: the words a reader says for what is written, before an engine sees the text.

A voice's phonemizer (espeak-ng, or a model's own text cleaners) reads "$3.50" as "dollar three
point five zero", "03/15/2024" as "zero three slash fifteen slash two thousand twenty four",
URLs letter by letter with "colon slash slash", and "km" as "K M". Here each written word is
turned into what a person reading aloud would say, in English or Spanish:

numbers (1,234.5 / 1.234,5), signs (-0.5, +5%), ranges (10-20, $5-10), fractions (3/4,
2 1/2), ordinals (21st, 1.º, 2.ª), decimals, currency ($3.50, 3,50 €, $1.5M, 10 USD),
percentages, dates (2024-03-15, 3/15/2024, 15/03/2024, March 15), years (in 1999, the 1990s,
not "1250 employees"), times (3:30 pm, 15:00, 14:30:15), telephone numbers (555-123-4567,
1-800-..., +44 20 ...), units after a number (km, kg, °C, mph, GB, m², ...), common
abbreviations (Dr., e.g., etc.; Sra., p. ej., EE. UU.; St. as Saint or Street), initials and
dotted acronyms (whose full stop ends a sentence only before a word that starts one), Roman
numerals (after "Chapter"/"Capítulo", "War"; "Henry VIII" as Henry the eighth), URLs and
e-mail addresses, comparisons (a<b) and symbols (&, +, =, #, @, ~).

Emoji and other pictographs are dropped, not named: a narration of an article or a book
reads past them (their names, "face with tears of joy", interrupt the text). Captions keep
them as written.

Every `Token` keeps its written form, so captions show "$3.50" while the audio says "three
dollars and fifty cents". Other languages get only what does not depend on language (emoji);
their numbers are left to the voice's phonemizer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace

from speech_api.text.numbers import cardinal, digits, integer, ordinal, spell, words, year
from speech_api.text.script import SENTENCE_ENDS, Token

LANGUAGES = ("en", "es")

# --- tables -----------------------------------------------------------------------------

_MONTHS = {
    "en": words("January February March April May June July August September October November"
                " December"),
    "es": words("enero febrero marzo abril mayo junio julio agosto septiembre octubre"
                " noviembre diciembre"),
}  # fmt: skip
_WEEKDAYS = {
    "en": set(words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")),
    "es": set(words("Lunes Martes Miércoles Jueves Viernes Sábado Domingo")),
}
# Month abbreviations, each language its own: English ones only capitalized ("Aug. 5"; a
# lowercase "ago. 20" is the word "ago" ending a sentence), Spanish ones either way ("ene.").
_MONTH_ABBREVIATIONS = {
    "en": {"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9,
           "Sept": 9, "Oct": 10, "Nov": 11, "Dec": 12},
    "es": {"ene": 1, "feb": 2, "mar": 3, "abr": 4, "jun": 6, "jul": 7, "ago": 8, "sep": 9,
           "sept": 9, "oct": 10, "nov": 11, "dic": 12},
}  # fmt: skip
# English months and weekdays written short with their full stop: said whole anywhere.
_DAYS_AND_MONTHS = {
    f"{short}.": name
    for short, name in (
        ("Jan", "January"), ("Feb", "February"), ("Mar", "March"), ("Apr", "April"),
        ("Jun", "June"), ("Jul", "July"), ("Aug", "August"), ("Sep", "September"),
        ("Sept", "September"), ("Oct", "October"), ("Nov", "November"), ("Dec", "December"),
        ("Mon", "Monday"), ("Tue", "Tuesday"), ("Tues", "Tuesday"), ("Wed", "Wednesday"),
        ("Thu", "Thursday"), ("Thur", "Thursday"), ("Thurs", "Thursday"), ("Fri", "Friday"),
        ("Sat", "Saturday"), ("Sun", "Sunday"),
    )
}  # fmt: skip
_WEEKDAYS_SHORT = {
    short[:-1]: name for short, name in _DAYS_AND_MONTHS.items() if name.endswith("day")
}
_DAY_RANGE = re.compile(r"([A-Z][a-z]{2,4})\.?[-\u2013]([A-Z][a-z]{2,4})")
# Two months joined by a dash ("May-July", an en dash too, "junio-agosto"): May to July.
_MONTH_RANGE = re.compile(r"([^\W\d_]{3,10})[-\u2013\u2014]([^\W\d_]{3,10})")
# Nouns an acronym or abbreviation qualifies ("the U.S. Senate", "EE. UU. Gobierno"): no
# sentence end before them. Other capitalized words start a sentence there.
_QUALIFIED = {
    "en": set(words("Senate House Congress Army Navy Air Marines Marine Forces Force Military"
                    " Government Parliament President Vice Secretary Ambassador Embassy Court"
                    " Supreme Department Treasury Federal State States Attorney General"
                    " Constitution Census Postal Coast Guard Border Olympic Olympics Open"
                    " Championship Championships Cup League Team Dollar Dollars Pound Pounds"
                    " Prime Minister Ministry Office Council Security Trade Treaty Board"
                    " Chairman Chairwoman Chief Director Headquarters Shares Stock Branch"
                    " Division Subsidiary Group Citizens Citizen Soldiers Troops Box"
                    " National Naval Consulate Mission Delegation Capitol Senator"
                    " Senators Representative Representatives Justice Virgin Islands Steel"
                    " Central Command Human Rights Commission Research Building Highway Route"
                    " Interstate Marshal Marshals Agency Bureau Institute Patent Geological"
                    " Survey Forest Service Mint Customs Immigration Energy Health Labor")),
    "es": set(words("Gobierno Senado Congreso Ejército Armada Presidente Embajada Tribunal"
                    " Departamento Tesoro Estado Estados Fiscal Constitución")),
}  # fmt: skip
# Words that typically start a sentence. After an initial ("C.", "J.") a capitalized word
# starts a new sentence only when it is one of these ("... vitamin A. It helps", but "J. R.
# R. Tolkien"); after an acronym or an abbreviation, so does any capitalized word but those
# of _QUALIFIED and titles in capitals (_Reader._new_sentence).
_SENTENCE_STARTS = {
    "en": set(words("The A An It He She We They I You This That These Those There Here In On At"
                    " But And So Then However His Her Its Our Their My Your When If As After"
                    " Before What Who Why How Where Now Today Yesterday Tomorrow Later"
                    " Meanwhile Still Yet Also Some Many Most All Each Every For With By From"
                    " To Of No Not Nothing Once While Although Though Because Since Even Only"
                    " Is Are Was Were Do Does Did Can Could Will Would Should Let Please Thanks"
                    " Yes Oh Well One Two Three Instead Finally First Next Last Another")),
    "es": set(words("El La Los Las Un Una Unos Unas Lo Yo Él Ella Ellos Ellas Nosotros Usted"
                    " Ustedes Este Esta Esto Estos Estas Ese Esa Eso Esos Esas Aquí Allí En"
                    " Pero Y O Así Luego Entonces Sin Con Por Para De Hay No Sí Se Me Te Le"
                    " Les Nos Su Sus Mi Mis Tu Tus Cuando Si Como Después Antes Hoy Ayer"
                    " Mañana También Todo Todos Toda Todas Ahora Además Sin Aunque Porque Ya"
                    " Es Son Fue Era Está Están Qué Quién Cómo Dónde Cuándo Muchos Muchas"
                    " Algunos Algunas Cada Otro Otra")),
}  # fmt: skip


def _rows(table: str) -> list[list[str]]:
    """A table written as lines of "|"-separated cells (blank lines and spaces around cells
    ignored): easier to read and review than nested tuples."""
    return [[c.strip() for c in line.split("|")] for line in table.strip().splitlines() if line]


# Units after a number: symbol | English singular | plural | Spanish singular | plural |
# the Spanish noun's gender (numbers agree: "una milla", "doscientas horas").
_UNITS: dict[str, tuple[tuple[str, str], tuple[str, str], str]] = {
    row[0]: ((row[1], row[2]), (row[3], row[4]), row[5])
    for row in _rows("""
km   | kilometer          | kilometers          | kilómetro          | kilómetros          | m
kph  | kilometer per hour | kilometers per hour | kilómetro por hora | kilómetros por hora | m
km/h | kilometer per hour | kilometers per hour | kilómetro por hora | kilómetros por hora | m
m    | meter              | meters              | metro              | metros              | m
m²   | square meter       | square meters       | metro cuadrado     | metros cuadrados    | m
m2   | square meter       | square meters       | metro cuadrado     | metros cuadrados    | m
km²  | square kilometer   | square kilometers   | kilómetro cuadrado | kilómetros cuadrados | m
km2  | square kilometer   | square kilometers   | kilómetro cuadrado | kilómetros cuadrados | m
cm²  | square centimeter  | square centimeters  | centímetro cuadrado | centímetros cuadrados | m
cm2  | square centimeter  | square centimeters  | centímetro cuadrado | centímetros cuadrados | m
ft²  | square foot        | square feet         | pie cuadrado       | pies cuadrados      | m
mi²  | square mile        | square miles        | milla cuadrada     | millas cuadradas    | f
m³   | cubic meter        | cubic meters        | metro cúbico       | metros cúbicos      | m
m3   | cubic meter        | cubic meters        | metro cúbico       | metros cúbicos      | m
m/s  | meter per second   | meters per second   | metro por segundo  | metros por segundo  | m
cm   | centimeter         | centimeters         | centímetro         | centímetros         | m
mm   | millimeter         | millimeters         | milímetro          | milímetros          | m
mi   | mile               | miles               | milla              | millas              | f
mph  | mile per hour      | miles per hour      | milla por hora     | millas por hora     | f
ft   | foot               | feet                | pie                | pies                | m
kg   | kilogram           | kilograms           | kilogramo          | kilogramos          | m
g    | gram               | grams               | gramo              | gramos              | m
mg   | milligram          | milligrams          | miligramo          | miligramos          | m
tbsp | tablespoon         | tablespoons         | cucharada          | cucharadas          | f
Tbsp | tablespoon         | tablespoons         | cucharada          | cucharadas          | f
tsp  | teaspoon           | teaspoons           | cucharadita        | cucharaditas        | f
cda  | tablespoon         | tablespoons         | cucharada          | cucharadas          | f
cdas | tablespoon         | tablespoons         | cucharada          | cucharadas          | f
cdta | teaspoon           | teaspoons           | cucharadita        | cucharaditas        | f
cdtas | teaspoon          | teaspoons           | cucharadita        | cucharaditas        | f
gal  | gallon             | gallons             | galón              | galones             | m
yd   | yard               | yards               | yarda              | yardas              | f
kcal | kilocalorie        | kilocalories        | kilocaloría        | kilocalorías        | f
mpg  | mile per gallon    | miles per gallon    | milla por galón    | millas por galón    | f
fps  | frame per second   | frames per second   | fotograma por segundo | fotogramas por segundo | m
ppm  | part per million   | parts per million   | parte por millón   | partes por millón   | f
mAh  | milliamp hour      | milliamp hours      | miliamperio hora   | miliamperios hora   | m
bp   | basis point        | basis points        | punto básico       | puntos básicos      | m
bps  | basis point        | basis points        | punto básico       | puntos básicos      | m
pb   | basis point        | basis points        | punto básico       | puntos básicos      | m
lb   | pound              | pounds              | libra              | libras              | f
lbs  | pound              | pounds              | libra              | libras              | f
oz   | ounce              | ounces              | onza               | onzas               | f
l    | liter              | liters              | litro              | litros              | m
L    | liter              | liters              | litro              | litros              | m
ml   | milliliter         | milliliters         | mililitro          | mililitros          | m
dL   | deciliter          | deciliters          | decilitro          | decilitros          | m
dl   | deciliter          | deciliters          | decilitro          | decilitros          | m
ng   | nanogram           | nanograms           | nanogramo          | nanogramos          | m
mcg  | microgram          | micrograms          | microgramo         | microgramos         | m
µg   | microgram          | micrograms          | microgramo         | microgramos         | m
μg   | microgram          | micrograms          | microgramo         | microgramos         | m
µm   | micrometer         | micrometers         | micrómetro         | micrómetros         | m
μm   | micrometer         | micrometers         | micrómetro         | micrómetros         | m
µL   | microliter         | microliters         | microlitro         | microlitros         | m
μL   | microliter         | microliters         | microlitro         | microlitros         | m
nm   | nanometer          | nanometers          | nanómetro          | nanómetros          | m
µs   | microsecond        | microseconds        | microsegundo       | microsegundos       | m
μs   | microsecond        | microseconds        | microsegundo       | microsegundos       | m
ns   | nanosecond         | nanoseconds         | nanosegundo        | nanosegundos        | m
pts  | point              | points              | punto              | puntos              | m
yds  | yard               | yards               | yarda              | yardas              | f
yrs  | year               | years               | año                | años                | m
mins | minute             | minutes             | minuto             | minutos             | m
qt   | quart              | quarts              | cuarto de galón    | cuartos de galón    | m
t    | tonne              | tonnes              | tonelada           | toneladas           | f
mmol | millimole          | millimoles          | milimol            | milimoles           | m
mol  | mole               | moles               | mol                | moles               | m
MP   | megapixel          | megapixels          | megapíxel          | megapíxeles         | m
mA   | milliamp           | milliamps           | miliamperio        | miliamperios        | m
kPa  | kilopascal         | kilopascals         | kilopascal         | kilopascales        | m
kbps | kilobit per second | kilobits per second | kilobit por segundo | kilobits por segundo | m
bbl  | barrel             | barrels             | barril             | barriles            | m
Ft   | foot               | feet                | pie                | pies                | m
mL   | milliliter         | milliliters         | mililitro          | mililitros          | m
°C   | degree Celsius     | degrees Celsius     | grado Celsius      | grados Celsius      | m
ºC   | degree Celsius     | degrees Celsius     | grado Celsius      | grados Celsius      | m
°F   | degree Fahrenheit  | degrees Fahrenheit  | grado Fahrenheit   | grados Fahrenheit   | m
°    | degree             | degrees             | grado              | grados              | m
h    | hour               | hours               | hora               | horas               | f
hr   | hour               | hours               | hora               | horas               | f
hrs  | hour               | hours               | hora               | horas               | f
min  | minute             | minutes             | minuto             | minutos             | m
s    | second             | seconds             | segundo            | segundos            | m
sec  | second             | seconds             | segundo            | segundos            | m
ms   | millisecond        | milliseconds        | milisegundo        | milisegundos        | m
Hz   | hertz              | hertz               | hercio             | hercios             | m
kHz  | kilohertz          | kilohertz           | kilohercio         | kilohercios         | m
MHz  | megahertz          | megahertz           | megahercio         | megahercios         | m
GHz  | gigahertz          | gigahertz           | gigahercio         | gigahercios         | m
KB   | kilobyte           | kilobytes           | kilobyte           | kilobytes           | m
kB   | kilobyte           | kilobytes           | kilobyte           | kilobytes           | m
MB   | megabyte           | megabytes           | megabyte           | megabytes           | m
GB   | gigabyte           | gigabytes           | gigabyte           | gigabytes           | m
TB   | terabyte           | terabytes           | terabyte           | terabytes           | m
W    | watt               | watts               | vatio              | vatios              | m
kW   | kilowatt           | kilowatts           | kilovatio          | kilovatios          | m
kWh  | kilowatt hour      | kilowatt hours      | kilovatio hora     | kilovatios hora     | m
V    | volt               | volts               | voltio             | voltios             | m
Mbps | megabit per second | megabits per second | megabit por segundo | megabits por segundo | m
Gbps | gigabit per second | gigabits per second | gigabit por segundo | gigabits por segundo | m
""")
}

# "x" after a number: "1.5x", "(2x)" times; between numbers, "4x4", "12 x 14 feet", by.
_MULTIPLIER = {"en": "times", "es": "veces"}
_BY = {"en": "by", "es": "por"}
# Words after "a 5 kg" that are no noun it qualifies ("a 5 kg or 10 kg bag" is left).
_NOT_QUALIFIED = set(words("and or of to per in than"))
# A unit whose row is too long for the table.
_UNITS["mmHg"] = (
    ("millimeter of mercury", "millimeters of mercury"),
    ("milímetro de mercurio", "milímetros de mercurio"),
    "m",
)
# A unit's symbol in a pattern, the longest first ("mph" before "m").
_UNIT_PATTERN = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
# What an amount is per, after its slash ("$1,500/month", "10 mg/kg/day", "1,65 €/l"): a
# unit (said in the singular), one of these short forms of a period, or a lowercase word
# ("$3.59/gallon", "€/mes"). Anything else after a slash ("and/or", "3/4") is no "per".
_PER_PERIODS = {
    "en": {"h": "hour", "hr": "hour", "d": "day", "wk": "week", "mo": "month", "yr": "year"},
    "es": {"h": "hora", "d": "día", "sem": "semana"},
}
_PER = {"en": "per", "es": "por"}

# Plurals without an s, for "100K people".
_PLURALS = {"people", "men", "women", "children", "mice", "feet", "teeth", "sheep", "fish"}
# What "100K", "10M", "2B" count where they mean thousand, million, billion: a closed list,
# since the letters are as often names ("the 5K is on Sunday", "4K versions", "401K plans").
_SCALED_COUNTS = {"people", "men", "women", "children"} | set(words(
    "users views viewers followers subscribers downloads customers clients fans visitors"
    " readers listeners players members employees workers jobs residents voters votes"
    " copies units sales miles dollars euros pounds lines requests messages emails"
    " tweets posts likes stars reviews signatures cases deaths troops soldiers students"
    " tourists refugees homes households cars devices accounts songs streams plays clicks"
    " installs tokens parameters words pages items products orders tickets seats"
    " spectators attendees participants applicants patients doses tests barrels tons"
    " acres years hours calls searches transactions shares investors citizens people's"
    " engineers developers volunteers inhabitants adults kids times contributors companies"
    " businesses families respondents infections websites sites apps images photos videos"
    " files records trees animals birds cells genes"
))  # fmt: skip
# "sq ft", "sq m", "sq mi", "sq km": the square unit.
_SQUARE = {"ft": "ft²", "m": "m²", "mi": "mi²", "km": "km²", "cm": "cm²"}

# Currencies: symbol or code | English unit | units | subunit | subunits | Spanish unit |
# units | subunit | subunits | the Spanish gender.
_CURRENCIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    row[0]: (tuple(row[1:5]), tuple(row[5:9]), row[9])
    for row in _rows("""
$   | dollar | dollars | cent  | cents | dólar | dólares | centavo  | centavos  | m
US$ | dollar | dollars | cent  | cents | dólar | dólares | centavo  | centavos  | m
USD | dollar | dollars | cent  | cents | dólar | dólares | centavo  | centavos  | m
€   | euro   | euros   | cent  | cents | euro  | euros   | céntimo  | céntimos  | m
EUR | euro   | euros   | cent  | cents | euro  | euros   | céntimo  | céntimos  | m
£   | pound  | pounds  | penny | pence | libra | libras  | penique  | peniques  | f
GBP | pound  | pounds  | penny | pence | libra | libras  | penique  | peniques  | f
¥   | yen    | yen     |       |       | yen   | yenes   |          |           | m
JPY | yen    | yen     |       |       | yen   | yenes   |          |           | m
MXN | peso   | pesos   | cent  | cents | peso  | pesos   | centavo  | centavos  | m
ARS | peso   | pesos   | cent  | cents | peso  | pesos   | centavo  | centavos  | m
COP | peso   | pesos   | cent  | cents | peso  | pesos   | centavo  | centavos  | m
CLP | peso   | pesos   | cent  | cents | peso  | pesos   | centavo  | centavos  | m
""")
}
_SCALES = {
    "en": {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12},
    "es": {"mil": 10**3, "millón": 10**6, "millones": 10**6, "billón": 10**12, "billones": 10**12},
}
_SCALE_SUFFIXES = {"k": "thousand", "K": "thousand", "M": "million", "m": "million",
                   "mn": "million", "bn": "billion", "B": "billion", "T": "trillion",
                   "tn": "trillion"}  # fmt: skip
# The suffixes an amount of money takes ("$3T", "$1.2tn", "$25.2mn": the FT's and Reuters').
_MONEY_SUFFIX = "(k|K|mn|M|m|bn|B|tn|T)"
_SCALE_WORDS_ES = {"thousand": "mil", "million": "millones", "billion": "mil millones",
                   "trillion": "billones"}  # fmt: skip

# Abbreviations: language | written form (with its dots) | spoken | whether it may end a
# sentence (then it keeps its full stop when it is last or the next word is capitalized).
_ABBREVIATIONS: dict[str, dict[str, tuple[str, bool]]] = {"en": {}, "es": {}}
for _language, _written, _spoken, _ends in _rows("""
en | Dr.    | Doctor        | no
en | Mr.    | Mister        | no
en | Mrs.   | Missus        | no
en | Ms.    | Miz           | no
en | Prof.  | Professor     | no
en | Jr.    | Junior        | yes
en | Sr.    | Senior        | yes
en | Mt.    | Mount         | no
en | St.    | Saint         | no
en | Ave.   | Avenue        | yes
en | Blvd.  | Boulevard     | yes
en | Rd.    | Road          | yes
en | Inc.   | Incorporated  | yes
en | Ltd.   | Limited       | yes
en | Corp.  | Corporation   | yes
en | Co.    | Company       | yes
en | e.g.   | for example   | no
en | i.e.   | that is       | no
en | etc.   | et cetera     | yes
en | vs.    | versus        | no
en | approx.| approximately | no
en | dept.  | department    | no
en | Dept.  | Department    | no
en | est.   | established   | no
en | Gov.   | Governor      | no
en | Sen.   | Senator       | no
en | Gen.   | General       | no
en | Capt.  | Captain       | no
en | Lt.    | Lieutenant    | no
en | Sgt.   | Sergeant      | no
en | Col.   | Colonel       | no
en | Rev.   | Reverend      | no
en | Fr.    | Father        | no
en | Hon.   | Honorable     | no
en | Messrs.| Messers       | no
en | Mme.   | Madame        | no
en | Mlle.  | Mademoiselle  | no
en | Insp.  | Inspector     | no
en | Det.   | Detective     | no
en | Supt.  | Superintendent | no
en | Maj.   | Major         | no
en | Adm.   | Admiral       | no
en | Cmdr.  | Commander     | no
en | Cpl.   | Corporal      | no
en | Pvt.   | Private       | no
en | a.m.   | A.M           | yes
en | p.m.   | P.M           | yes
en | A.M.   | A.M           | yes
en | P.M.   | P.M           | yes
en | w/     | with          | no
en | w/o    | without       | no
en | and/or | and or        | no
en | Rep.   | Representative | no
en | Reps.  | Representatives | no
en | Sens.  | Senators      | no
en | Pres.  | President     | no
en | Msgr.  | Monsignor     | no
en | Atty.  | Attorney      | no
en | Brig.  | Brigadier     | no
en | Bros.  | Brothers      | no
en | a.k.a. | also known as | no
en | Eq.    | Equation      | no
en | Ste.   | Sainte        | no
en | Bldg.  | Building      | no
en | Rm.    | Room          | no
en | Hwy.   | Highway       | yes
en | Ft.    | Fort          | no
en | govt.  | government    | yes
en | Govt.  | Government    | yes
en | intl.  | international | no
en | Intl.  | International | no
en | para.  | paragraph     | no
en | Assn.  | Association   | no
en | Assoc. | Association   | yes
en | Univ.  | University    | no
en | Ala.   | Alabama       | yes
en | Ariz.  | Arizona       | yes
en | Calif. | California    | yes
en | Colo.  | Colorado      | yes
en | Conn.  | Connecticut   | yes
en | Fla.   | Florida       | yes
en | Ga.    | Georgia       | yes
en | Ill.   | Illinois      | yes
en | Kan.   | Kansas        | yes
en | Ky.    | Kentucky      | yes
en | Md.    | Maryland      | yes
en | Mich.  | Michigan      | yes
en | Minn.  | Minnesota     | yes
en | Mont.  | Montana       | yes
en | Neb.   | Nebraska      | yes
en | Nev.   | Nevada        | yes
en | Okla.  | Oklahoma      | yes
en | Ore.   | Oregon        | yes
en | Tenn.  | Tennessee     | yes
en | Tex.   | Texas         | yes
en | Va.    | Virginia      | yes
en | Vt.    | Vermont       | yes
en | Wis.   | Wisconsin     | yes
en | Wyo.   | Wyoming       | yes
es | Sr.    | señor         | no
es | Sra.   | señora        | no
es | Srta.  | señorita      | no
es | Dr.    | doctor        | no
es | Dra.   | doctora       | no
es | Dña.   | doña          | no
es | Ud.    | usted         | yes
es | Uds.   | ustedes       | yes
es | Vd.    | usted         | yes
es | Vds.   | ustedes       | yes
es | etc.   | etcétera      | yes
es | aprox. | aproximadamente | no
es | núm.   | número        | no
es | n.º    | número        | no
es | nº     | número        | no
es | pág.   | página        | no
es | págs.  | páginas       | no
es | tel.   | teléfono      | no
es | Tel.   | teléfono      | no
es | Avda.  | avenida       | no
es | Av.    | avenida       | no
es | c/     | calle         | no
es | Prof.  | profesor      | no
es | Profa. | profesora     | no
es | Lic.   | licenciado    | no
es | Ing.   | ingeniero     | no
es | D.ª    | doña          | no
es | Dª     | doña          | no
es | C/     | calle         | no
es | Pza.   | plaza         | no
es | Ctra.  | carretera     | no
es | izda.  | izquierda     | yes
es | izq.   | izquierda     | yes
es | dcha.  | derecha       | yes
es | Sto.   | santo         | no
es | Sta.   | santa         | no
es | EE.UU. | Estados Unidos | yes
es | EE. UU. | Estados Unidos | yes
es | p. ej. | por ejemplo   | no
es | a. m.  | de la mañana  | yes
es | p. m.  | de la tarde   | yes
es | a.m.   | de la mañana  | yes
es | p.m.   | de la tarde   | yes
es | a. C.  | antes de Cristo | yes
es | S. M.  | su majestad   | no
es | d. C.  | después de Cristo | yes
es | Excmo. | excelentísimo | no
es | Excma. | excelentísima | no
es | Ilmo.  | ilustrísimo   | no
es | Ilma.  | ilustrísima   | no
es | Gral.  | general       | no
es | Cía.   | compañía      | no
es | ptas.  | pesetas       | yes
es | Dpto.  | departamento  | no
es | Univ.  | universidad   | no
es | vs.    | contra        | no
es | Sres.  | señores       | no
es | Sras.  | señoras       | no
es | Dres.  | doctores      | no
"""):
    _ABBREVIATIONS[_language][_written] = (_spoken, _ends == "yes")
# After "Ms": Microsoft's programs, not a woman's name ("Ms Word").
_MS_OFFICE = set(words("Word Excel Office Access Teams Paint Outlook Edge Project Visio DOS"))
_COMPASS = {"N.": "North", "S.": "South", "E.": "East", "W.": "West"}
# A short capitalized word or one without vowels, and its full stop ("Tab.", "Calif.",
# "b.", "pls."): an abbreviation when a lowercase word follows. Not "done. then": text
# written in lower case still ends its sentences.
_SHORT_WORD_STOP = re.compile(r"[A-Z][a-z]{0,5}\.|[b-df-hj-np-tv-xz]{1,5}\.")
_LONGEST_ABBREVIATION = max(len(form) for table in _ABBREVIATIONS.values() for form in table)
# Said as a street's kind where they end a street's name (see _names_a_street).
_STREETS = {"St.": "Street", "Dr.": "Drive"}
# Abbreviations said differently before a number ("No. 5", "p. 12", "Fig. 3").
_BEFORE_NUMBER = {
    "en": {"No.": "number", "no.": "number", "Nos.": "numbers", "#": "number",
           "p.": "page", "pp.": "pages", "Fig.": "figure", "fig.": "figure",
           "vol.": "volume", "Vol.": "volume", "ch.": "chapter", "Ch.": "chapter",
           "Art.": "article", "art.": "article", "Arts.": "articles", "Sec.": "section",
           "Ste.": "Suite", "Ref.": "reference", "v.": "verse", "vv.": "verses",
           "sec.": "section", "§": "section", "§§": "sections"},
    "es": {"#": "número", "No.": "número", "p.": "página", "pp.": "páginas",
           "fig.": "figura", "Fig.": "figura", "vol.": "volumen", "cap.": "capítulo",
           "Cap.": "capítulo", "art.": "artículo", "Art.": "artículo", "arts.": "artículos"},
}  # fmt: skip
# Before a Roman numeral, Spanish "s." is siglo ("el s. XIX": el siglo diecinueve): one of
# I, V and X (centuries go to XXI), so "S. M." (su majestad) is no "siglo mil".
_CENTURY = {"s.": "siglo", "S.": "siglo", "ss.": "siglos"}
_CENTURY_NUMERAL = re.compile(r"(?=[IVX])X{0,2}(?:IX|IV|V?I{0,3})")
# Words after which a lowercase "no." is the answer "no" ending a sentence ("She said no. 5
# minutes later"), not "number" ("item no. 5"; a capitalized "No. 5" is always "number").
_ANSWERED_NO = set(words("said say says saying answered answer answers replied reply replies"
                         " shouted yelled told tells yes or and but just simply firmly politely"
                         " definitely probably maybe it's that's"))  # fmt: skip
_COMPARISON_SPLIT = re.compile(r"(<=|>=|<|>)")
_OPERAND = re.compile(r"[A-Za-z]|[a-z_][a-z0-9_]{1,15}|\d+(?:[.,]\d+)?[A-Za-z]{0,3}")
_COMPARISONS = {
    "en": {"<": "less than", ">": "greater than", "<=": "less than or equal to",
           ">=": "greater than or equal to"},
    "es": {"<": "menor que", ">": "mayor que", "<=": "menor o igual que",
           ">=": "mayor o igual que"},
}  # fmt: skip
_SYMBOLS = {
    "en": {"&": "and", "+": "plus", "=": "equals", "@": "at", "%": "percent", "#": "number",
           "~": "about", "\u00d7": "times", "±": "plus or minus"},
    "es": {"&": "y", "+": "más", "=": "igual a", "@": "arroba", "%": "por ciento",
           "#": "número", "~": "aproximadamente", "\u00d7": "por", "±": "más o menos"},
}  # fmt: skip
_WORDS = {
    "en": {"point": "point", "minus": "minus", "to": "to", "dot": "dot", "slash": "slash",
           "dash": "dash", "underscore": "underscore", "plus": "plus", "at": "at",
           "percent": "percent", "and": "and", "www": "w w w", "o'clock": "o'clock"},
    "es": {"point": "coma", "minus": "menos", "to": "a", "dot": "punto", "slash": "barra",
           "dash": "guion", "underscore": "guion bajo", "plus": "más", "at": "arroba",
           "percent": "por ciento", "and": "y", "www": "triple w", "o'clock": "en punto"},
}  # fmt: skip
_FRACTIONS = {
    "en": {(1, 2): "one half", (1, 4): "one quarter", (3, 4): "three quarters"},
    "es": {(1, 2): "un medio", (1, 3): "un tercio", (2, 3): "dos tercios", (1, 4): "un cuarto",
           (3, 4): "tres cuartos"},
}  # fmt: skip
# A fraction joined to the noun it measures ("a 1/2-inch pipe": a half inch pipe).
_FRACTION_ADJECTIVES = {(1, 2): "half", (1, 4): "quarter", (3, 4): "three quarter"}
_ES_FRACTION_NAMES = {2: "medio", 3: "tercio", 4: "cuarto", 5: "quinto", 6: "sexto",
                      7: "séptimo", 8: "octavo", 9: "noveno", 10: "décimo"}  # fmt: skip
# Words before a four-digit number that make it a year: "in 1999", "the 1999 season", "a
# 1969 report" (a year before its noun too) ...
_DETERMINERS = {"the", "a", "an", "this", "that", "his", "her", "its", "our", "their", "my", "your"}
_YEAR_CONTEXT = _DETERMINERS | {
    "in", "since", "by", "until", "till", "from", "year", "circa", "c.", "before", "after",
    "during", "through", "between", "early", "late", "mid",
    # a quarter, a half or a fiscal year: "Q3 2024 revenue", "FY 2023", "fiscal 2021"
    "q1", "q2", "q3", "q4", "h1", "h2", "fy", "fiscal", "al.", "born", "died", "copyright",
}  # fmt: skip
# ... and words that do so unless a noun follows ("the summer of 1969", "a total of 1250
# employees"). With neither, 1100 to 1999 is a year unless a noun follows ("1999 was a good
# year", "We sold 1776 units").
# Words that join two years ("1990 and 1991") and the prepositions that open such a pair.
_RANGE_WORDS = {"to", "and", "or", "through"}
_YEAR_RANGE_OPENERS = {"in", "from", "between", "during", "since", "by"}
# Verbs after a year that opens a sentence ("2024 was", "2020 saw"): a year, not a count.
_YEAR_VERBS = set(words("was saw marked brought began ended proved became will has had"))
_WEAK_YEAR_CONTEXT = {"of", "to", "and", "or", "around", "spring", "summer", "autumn", "fall",
                      "winter"}  # fmt: skip
# Lowercase words after a year that are no noun it counts ("1999 was", "1969 and").
_AFTER_YEAR = set(words(
    "was is were saw marked brought began begun ended had has have will would could did and or"
    " to through when where which that the a an in on at with for as after before during but"
    " until from by of onward onwards census election elections season edition model"
    " olympics world cup film movie version report survey law act war came went became left"
    " gave made saw took"
))  # fmt: skip
_ES_YEAR_CONTEXT = {"en", "de", "del", "año", "desde", "hasta", "hacia", "entre", "y"}
_ERAS = {"BC", "AD", "BCE", "CE", "B.C.", "A.D."}
# Words after which a Roman numeral is a cardinal ("Chapter IV", "World War II", "Super
# Bowl LVIII", "siglo XXI": four, two, fifty-eight, veintiuno), any numeral, one letter too.
_ROMAN_CONTEXT = {
    "en": {"chapter", "part", "book", "volume", "act", "scene", "section", "appendix"},
    "es": {"capítulo", "parte", "libro", "tomo", "volumen", "acto", "escena", "sección"},
}
# The same after these, for a numeral of two letters or more or after the word capitalized
# ("World War II", "Type I"; not "the war I fought", "in class I learned").
_ROMAN_CONTEXT_MORE = {
    "en": {"war", "wars", "bowl", "phase", "type", "class", "stage", "level", "grade", "tier",
           "round", "episode", "article", "title", "annex"},
    "es": {"siglo", "s.", "ss.", "fase", "tipo", "clase", "nivel", "artículo", "título", "anexo"},
}  # fmt: skip
# After another capitalized word (a name) only numerals of two or more letters of I, V and
# X up to 39 ("Henry VIII", "Felipe II"; one letter after a monarch's name: "Henry V",
# Spanish "Carlos I" too), said as ordinals: English "the Eighth", Spanish
# "segundo" (past ten as cardinals: "Alfonso trece"). One letter ("I", "V", "X") and
# numerals with L, C, D, M ("CD", "MD", "XL") are too often words or acronyms.
# Books of the Bible, whose "3:16" after them is a chapter and a verse ("John 3:16": John
# chapter three, verse sixteen), not a time or a ratio.
_BIBLE_BOOKS = set(words(
    "Genesis Exodus Leviticus Numbers Deuteronomy Joshua Judges Ruth Samuel Kings Chronicles"
    " Ezra Nehemiah Esther Job Psalm Psalms Proverbs Ecclesiastes Isaiah Jeremiah Lamentations"
    " Ezekiel Daniel Hosea Joel Amos Obadiah Jonah Micah Nahum Habakkuk Zephaniah Haggai"
    " Zechariah Malachi Matthew Mark Luke John Acts Romans Corinthians Galatians Ephesians"
    " Philippians Colossians Thessalonians Timothy Titus Philemon Hebrews James Peter Jude"
    " Revelation G\u00e9nesis \u00c9xodo Lev\u00edtico N\u00fameros Deuteronomio Josu\u00e9 Jueces"
    " Rut Reyes Cr\u00f3nicas Esdras Nehem\u00edas Ester Salmo Salmos Proverbios Eclesiast\u00e9s"
    " Isa\u00edas Jerem\u00edas Ezequiel Oseas Jon\u00e1s Miqueas Mateo Marcos Lucas Juan Hechos"
    " Romanos Corintios G\u00e1latas Efesios Filipenses Colosenses Tesalonicenses Timoteo Tito"
    " Hebreos Santiago Pedro Judas Apocalipsis"
))  # fmt: skip
# ... and their English abbreviations, said in full before a chapter ("Gen. 1:1": Genesis).
_BIBLE_ABBREVIATIONS = dict(
    _rows("""
Gen. | Genesis
Ex. | Exodus
Exod. | Exodus
Lev. | Leviticus
Num. | Numbers
Deut. | Deuteronomy
Josh. | Joshua
Judg. | Judges
Sam. | Samuel
Chron. | Chronicles
Neh. | Nehemiah
Ps. | Psalm
Prov. | Proverbs
Eccl. | Ecclesiastes
Isa. | Isaiah
Jer. | Jeremiah
Lam. | Lamentations
Ezek. | Ezekiel
Dan. | Daniel
Zech. | Zechariah
Mal. | Malachi
Matt. | Matthew
Rom. | Romans
Cor. | Corinthians
Gal. | Galatians
Eph. | Ephesians
Phil. | Philippians
Col. | Colossians
Thess. | Thessalonians
Tim. | Timothy
Heb. | Hebrews
Jas. | James
Pet. | Peter
Rev. | Revelation
""")
)
_VERSE = re.compile(r"^(\d{1,3}):(\d{1,3})(?:[-\u2013](\d{1,3}))?$")
_VERSE_WORDS = {"en": ("chapter", "verse", "verses"), "es": ("capítulo", "versículo", "versículos")}
# A hashtag ("#MeToo", "#BlackLivesMatter"): said "hashtag" and its words apart.
_HASHTAG = re.compile(r"^#([A-Za-z][A-Za-z0-9_]*)$")
# ... but not a C preprocessor's directive ("#include") nor a colour ("#fff", "#ff0000").
_NOT_HASHTAG = re.compile(
    r"include|define|undef|ifn?def|if|elif|else|endif|pragma|import|region|endregion|error"
    r"|warning|line|[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8}"
)
_REGNAL = re.compile(r"^X{0,3}(?:IX|IV|V?I{0,3})$")
_POSSESSIVE = re.compile(r"['\u2019]s$")
# The names monarchs and popes are numbered after ("Henry VIII": Henry the Eighth, "Isabel
# II": Isabel segunda). After other capitalized words such a numeral is a cardinal, as
# sequels, missions and games are numbered ("Rocky II", "Apollo XIII", "Game VI": two,
# thirteen, six), except XX(X), more often chromosomes or ratings, and IV, more often
# intravenous (_INTRAVENOUS).
_QUEENS = set(words(
    "Elizabeth Mary Anne Victoria Catherine Isabel Isabella Juana Maria María Margaret"
    " Margrethe Christina Cristina Beatrix Juliana Wilhelmina Leonor Urraca Ana Catalina"
    " Margarita Blanca Berenguela"
))  # fmt: skip
_MONARCHS = _QUEENS | set(words(
    "Henry Edward George William Richard John James Charles Louis Philip Frederick Peter"
    " Paul Pius Leo Benedict Gregory Innocent Clement Urban Boniface Alexander Julius Sixtus"
    " Nicholas Ivan Francis Ferdinand Alfonso Fernando Felipe Carlos Juan Pedro Enrique"
    " Jaime Sancho Luis Francisco Henri Wilhelm Friedrich Ludwig Otto Rudolf Gustav Gustaf"
    " Christian Frederik Harald Olaf Haakon Umberto Vittorio Victor Emmanuel Leopold Albert"
    " Napoleon Constantine Justinian Theodosius Ramesses Ptolemy Selim Mehmed Murad Suleiman"
    " Rama Hussein Abdullah Mohammed Hassan David Robert Alexios Manuel Baldwin Casimir"
    " Sigismund Vladislaus Stephen Andrew Bela Matthias Sebastian João Afonso Duarte"
    # Pharaohs and kings of the ancient Near East ("Ramses II", "Cyrus II": the Second).
    " Ramses Amenhotep Thutmose Seti Sesostris Cyrus Darius Xerxes Artaxerxes Antiochus"
    " Nebuchadnezzar Ramsés Tutmosis Amenofis Ciro Darío Jerjes Artajerjes Antíoco Ptolomeo"
    " Nabucodonosor"
    # Spanish names of popes and kings ("Juan Pablo II": segundo, "Benedicto XVI": dieciséis).
    " Pablo Benedicto Pío León Gregorio Inocencio Clemente Urbano Bonifacio Sixto Julio"
    " Eduardo Guillermo Jorge Ricardo Jacobo Federico Napoleón Iván Constantino Justiniano"
    " Teodosio Alejandro Nicolás Gustavo Leopoldo Alberto Esteban Andrés Matías Rodolfo"
))  # fmt: skip
# English "I" after a monarch's name is the numeral only before what tells of a reign
# ("Charles I was executed", "Elizabeth I never married", "Charles I of England") or before
# punctuation ("Charles I, king of"): "when George I saw it" keeps the pronoun.
_REIGN_WORDS = set(words(
    "was is had has died became reigned ruled never of who whose married succeeded himself"
    " herself"
))  # fmt: skip
_NOT_SEQUELS = {"IV", "XX", "XXX"}
# What follows "IV" said "I V", intravenous, after a capitalized word ("Patient IV fluids");
# after other capitalized words within a sentence IV numbers a sequel ("Rocky IV": four).
_INTRAVENOUS = set(words(
    "fluid fluids drip drips line lines bag bags antibiotic antibiotics morphine access"
    " therapy push pushes pole tubing infusion infusions drug drugs catheter catheters site"
    " nutrition iron hydration medication medications saline steroids route injection"
    " injections insulin dose doses contrast treatment team bolus"
))  # fmt: skip
# "WWII", "WW2": World War Two (espeak said "double-u double-u two").
_WORLD_WAR = re.compile(r"(WWI{1,2}|WW[12])(?=$|-|['\u2019]s$)")
_WORLD_WARS = {
    "en": {"WWI": "World War One", "WW1": "World War One", "WWII": "World War Two",
           "WW2": "World War Two"},
    "es": {"WWI": "Primera Guerra Mundial", "WW1": "Primera Guerra Mundial",
           "WWII": "Segunda Guerra Mundial", "WW2": "Segunda Guerra Mundial"},
}  # fmt: skip

# --- dialogue -------------------------------------------------------------------------------

# A stutter: a letter, or two that make no syllable ("Th", "Wh"), joined by hyphens to the
# word they begin ("W-what", "Th-that's", "W-w-what", Spanish "N-no"). espeak named the
# letters ("double-u what"); a reader repeats the word after a catch: "What, what".
_STUTTER = re.compile(
    r"([^\W\d_]{1,2})((?:-\1)*)-(\1[^\W\d_]*(?:['\u2019][^\W\d_]+)*)", re.IGNORECASE
)
_VOWELS = set("aeiouyáéíóúüàèìòùAEIOUYÁÉÍÓÚÜÀÈÌÒÙ")
# Compounds written like a stutter ("D-day", "t-test", "C-clamp"); a lowercase "e-" is the
# electronic prefix ("e-edition").
_NOT_STUTTERS = set(words(
    "d-day t-test t-tests c-clamp c-clamps b-boy b-boys s-shaped s-shape h-hour"
))  # fmt: skip
_DIALOGUE_OPENING = re.compile(r"[\u2014\u2013\"'\u201c\u2018\u00ab(\[\u00bf\u00a1]*")
_MOST_REPEATS = 3  # "W-w-w-w-what": What, what, what
# Interjections of consonants only, with any number of each letter ("Shh", "Shhhh", "Mmm",
# "Mm-hmm", "Hmph", "Pfft", "Grrr", "Brrr", "Psst"), which espeak spelled ("ess aitch
# aitch"), said in a spelling it says as the sound: "sch" is a lone "sh", "hmm" a hum (so
# are "Mmm" and a "Hmmmm" espeak spelled too), "gurr" a growl, "burr" a shiver. Spanish has
# its own ("chsss", "umm", "puf", "jum"). "Zzz" stays the letters: no spelling says a buzz.
_INTERJECTION = re.compile(
    r"(?P<sh>s+h+)|(?P<hm>m{2,}|h+m+)|(?P<mhm>m+-?h+m+|m+j+m+)|(?P<hmph>h+m+(?:p+[hf]*|f+))"
    r"|(?P<pf>p+f{2,}t*|p+f+t+)|(?P<gr>g+r{2,}h*)|(?P<br>b+r{2,}h*)|(?P<ps>p+s+t+|p+s{2,})",
    re.IGNORECASE,
)
_INTERJECTIONS = {
    "en": {"sh": "sch", "hm": "hmm", "mhm": "um-hmm", "hmph": "hmpf", "pf": "pift",
           "gr": "gurr", "br": "burr", "ps": "psst"},
    "es": {"sh": "chsss", "hm": "umm", "mhm": "um-jum", "hmph": "jum", "pf": "puf",
           "gr": "gurr", "br": "burr", "ps": "pist"},
}  # fmt: skip
# Short words written in capitals for emphasis ("a BIG mistake", "es MUY malo"): espeak
# spells a word of capitals of up to three letters among lowercase words ("B I G"), so
# these are said in lowercase. Only common words that are not also read as letters: not
# IT, US, AM, OH, HI (the IT department, Columbus, OH), SAT, ACT, LED, DOT, ERA.
_EMPHASIZED = {
    "en": set(words(
        "IF HA UH UM OW YO AGO AIR AND ANY ARE ASK ATE AWE BAD BAG"
        " BAN BAR BAT BED BEE BEG BIG BIT BOX BOY BUG BUM BUS BUT BUY BYE CAN CAP CAR"
        " COW CRY CUP CUT DAD DAY DID DIE DIG DOG DRY DUE EAR EAT EGG EGO END EYE"
        " FAN FAR FAT FEE FEW FIT FIX FLY FOR FOX FUN GAS GET GOT GUN GUT GUY HAD"
        " HAS HAT HER HEY HIM HIS HIT HOT HOW HUG HUH ILL ITS JOB JOY KEY KID LAW"
        " LAY LEG LET LIE LIP LOT LOW MAD MAN MAP MAY MEN MIX MOM MUD NEW NOR NOT NOW"
        " NUT OFF OIL OLD ONE OUR OUT OWE OWN PAY PIE PIG POP POT PUT RAN RAT"
        " RED RID RUN SAW SAY SEA SEE SET SHE SHY SIN SIT SIX SKY SON SPY TAX"
        " TEN THE TIE TOO TOP TOY TRY TWO USE WAR WAS WAY WET WHY WIN WON WOW YAY YES YET"
        " YOU ZOO"
    )),
    "es": set(words(
        "MUY MI TU SU YA YO SÍ NO MÁS HOY VEZ TÚ ÉL ESO ESA ESE QUÉ DOS UNO UNA FUE VER DAR"
        " VOY VAN HAY SON CON SIN POR LOS LAS DEL MAL ME TE SE LE LO NI TAN SOY OYE"
    )),
}  # fmt: skip
# ... and, inside a run of three or more words in capitals (shouting: "STOP IT NOW!",
# "LEAVE US ALONE!"), words espeak reads as letters even there.
_SHOUTED = {"en": {"IT", "US", "AM", "OH", "HI"}, "es": set()}
_AMPM = {"am": "A.M", "pm": "P.M", "a.m.": "A.M", "p.m.": "P.M"}
_AMPM_ES = {"am": "de la mañana", "pm": "de la tarde", "a.m.": "de la mañana",
            "p.m.": "de la tarde"}  # fmt: skip

# Lowercase words after which a capital letter with a full stop is an initial ("by J.
# Rowling", "and T. S. Eliot"); after other lowercase words it is a letter named ("vitamin C.",
# "plan B.", "grade A.").
_BEFORE_NAMES = set(words(
    "by and or with to from of for as at dear named called like than about said says told"
    " asked wrote writes via per including featuring starring feat directed edited translated"
    " written illustrated narrated produced composed painted founded led"
))  # fmt: skip

# Capitalized words before "Dr." or "St." that address or ask a person ("Thanks Dr. for
# coming"), and lowercase words that go on a sentence opened by a street ("Oxford St. is
# busy", "Elm Dr. was closed").
_ADDRESSING = set(
    words(
        "Hi Hello Hey Dear Thank Thanks Sorry Ask Call Tell Meet Visit See Good"
        " Morning Evening Goodbye Bye Welcome Congratulations Excuse Pardon"
    )
)
_AFTER_STREET = set(words(
    "is was has had will runs ran goes went leads led stays remains becomes became gets got"
    " and or at in near between from to closes closed opens opened"
))  # fmt: skip

# After "Jan" (a name too) only a year makes it January: "Jan 2024", "Jan 1999,".
_YEAR_AFTER_JAN = re.compile(r"^(?:1[6-9]|20)\d\d(?:[.,;:!?]|$)")

# Words after which a number with one full stop is a version, its parts said as numbers
# ("Python 3.12": three point twelve, not three point one two); "v3.12" and numbers with two
# or three stops ("2.1.3") are versions anyway, four parts up to 255 an IP address.
_VERSIONED = set(words(
    "version versions versión versiones release Python Java iOS iPadOS macOS watchOS Android"
    " Windows Ubuntu Debian Fedora Linux Node.js PHP Ruby Rails Django Kotlin Swift Perl"
    " PostgreSQL Postgres MySQL React Angular Vue Kubernetes Chrome Firefox Safari Xcode GPT"
    " Bluetooth HTTP TLS SSL USB"
))  # fmt: skip
_VERSION = re.compile(r"^([vV])?(\d{1,4}(?:\.\d{1,4}){1,3})$")
# Words before a clock-like "2:05:30" that make it a duration ("finished in 2:05:30": two
# hours, five minutes and thirty seconds); "at 14:30:15" stays the clock.
_DURATION_CONTEXT = set(words(
    "in of time times finished ran run clocked record took lasted lasts runtime duration"
    " length long en tiempo marca duró dura"
))  # fmt: skip

# Punctuation a voice says nothing for. espeak (Piper's phonemizer) runs the words around an
# ellipsis together with no pause ("Well... maybe" was said as one word, "I don't know..."
# without its sentence's fall) and pauses at no dash written against its words ("Wait—no",
# "Wait--no") nor at a spaced "--". A reader pauses at each: the spoken form gives them a
# comma, or a full stop where the sentence ends (a capital or nothing follows); captions keep
# them.
_ELLIPSIS = re.compile(r"\.{3,}|\u2026+")
_DASH_IN_WORD = re.compile(r"(?<=[^\W\d_])(?:\u2014|--)(?=[^\W\d_])")
_DASHES = {"-", "--", "\u2012", "\u2013", "\u2014", "\u2015"}
# Separators written between words ("Home | About", "Top • bottom"): a pause, no word.
_SEPARATORS = {"|", "\u2022", "\u00b7", "\u00a6", "/"}
# Punctuation between two letters with no space after it ("Stop!Go", "Why?Because",
# "one,two"): espeak said "exclamation" or ran the words together.
_RUN_ON = re.compile(r"(?<=[^\W\d_])([!?]+|,)(?=[^\W\d_])")
_NUMBER_END = re.compile(r"\d[%°]?$")
_NUMBER_START = re.compile(r"^[$€£¥]?\d")

# A whole number written with a leading zero and three digits or more is a code, said
# digit by digit ("Agent 007", the ZIP code "02134", "PIN 0042"), not a count ("seven",
# "two thousand one hundred thirty-four"). "05" stays five.
_CODE_NUMBER = re.compile(r"0\d{2,}")

# --- patterns ---------------------------------------------------------------------------

_LEAD = re.compile(r"^[\"'\u201c\u2018\u00ab(\[\u00bf\u00a1]+")
# Trailing punctuation, matched only from the start of its run: searched from every place in
# a run ("x" + "." * 50_000 + "a"), each attempt ran to the run's end (quadratic).
_TRAIL_CHARS = "\"'\u201d\u2019\u00bb)\\].,;:!?\u2026"
_TRAIL = re.compile(rf"(?<![{_TRAIL_CHARS}])[{_TRAIL_CHARS}]+$")
_NUM_EN = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_NUM_ES = r"(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?|\d+\.\d+"
_URL = re.compile(r"^(?:https?://|www\.)[^\s]+$", re.IGNORECASE)
_DOMAIN = re.compile(
    r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|ai|dev|app|co|es|uk|us|de|fr|"
    r"mx|ar|info|biz)(?:/[^\s]*)?$",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"^(?:mailto:)?([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?:\s*([ap]\.?m\.?))?$", re.IGNORECASE)
_POWERS = {
    "en": {"\u00b2": "squared", "\u00b3": "cubed"},
    "es": {"\u00b2": "al cuadrado", "\u00b3": "al cubo"},
}
_PESOS = {"pesos", "peso", "MXN", "ARS", "COP", "CLP"}
# Scientific notation: "10^8", "10^-4", "10²³", "10⁻³"; "6.022e23", "1.6E-19".
_SUPERSCRIPTS = str.maketrans(
    "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b\u207a", "0123456789-+"
)
_POWER_OF_TEN = re.compile(
    r"(\d+)(?:\^[{(]?([-+\u2212]?\d{1,3})[})]?|([\u207b\u207a]?[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]{1,3}))"
)
_E_NOTATION = re.compile(r"(\d+(?:\.\d+)?)[eE]([-+]?\d{1,3})")
_MULTIPLIER_WORD = {"en": "times", "es": "por"}
# Currency codes read before their amount ("USD 10").
_CODES_FIRST = {"USD", "EUR", "GBP", "JPY", "US$", "MXN", "ARS", "COP", "CLP"}
_MANY = {"100s": "hundreds", "1000s": "thousands", "1000000s": "millions"}
_SECONDS_TIME = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})$")
# Before "0:30" these make it the clock (twelve thirty A.M), not a length (thirty seconds).
_AT_CLOCK = {"at", "by", "until", "till", "from", "las", "la", "a", "hasta", "desde"}
_HOUR_AMPM = re.compile(r"^(\d{1,2})([ap]\.?m\.?)$", re.IGNORECASE)
# "5.30pm", "10.15 a.m.": a full stop between hour and minutes, with the meridiem.
_DOT_TIME = re.compile(r"^(\d{1,2})\.(\d{2})(?:\s*([ap]\.?m\.?))?$", re.IGNORECASE)
_VULGAR_FRACTIONS = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4)}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# Scores: "scored 95/100" ninety-five out of one hundred; "4.5/5 stars".
_SCORING = set(words("scored scores score rated rating rates got gets earned earns gave gives"
                     " obtuvo sacó puntuación nota"))  # fmt: skip
_SCORED = {"stars", "points", "estrellas", "puntos"}
_OUT_OF = {"en": "out of", "es": "sobre"}
# Words before a number whose hyphen joins the parts of a name, not a range ("No. 22-1234").
_BEFORE_IDENTIFIER = {"no.", "nos.", "number", "docket", "núm.", "número"}
# Lowercase words a date may stand before ("paid on 3/4 and", "on 6/15 we"): others are a
# fraction's noun ("on 1/2 power").
_AFTER_DATE = set(words(
    "and or but at in for to with from when while we i he she they it you the a an this that"
    " there then until through by before after since y e o ni pero en a para con por que se"
    " el la los las sin hasta desde cuando como"
))  # fmt: skip
# Spanish money's names, after "las 3.50": an amount, not a time ("las 3.50 libras").
_MONEY_WORDS_ES = set(words("libras euros dólares pesos céntimos centavos yenes"))
# Words before a month and day written "3/4" ("on 3/4"; Spanish "el pasado 14/02").
_BEFORE_DATE = {
    "en": {"on", "since", "until", "till", "by", "before", "after", "through", "from", "due"},
    "es": {"el", "pasado", "próximo", "desde", "hasta", "del", "al"},
}
_SLASH_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})$")
_ORDINAL_EN = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)$", re.IGNORECASE)
_ORDINAL_ES = re.compile(r"^(\d+)\.?(º|ª|o|a|er|ero|era|ro|ra|do|da|to|ta|vo|va|no|na)$")
_PHONE = re.compile(r"^(\+\d{1,3}[-.\s]?|1[-.])?(\(?\d{3}\)?)[-.](\d{3})[-.](\d{4})$")
# An international number written in groups after its country code: "+44 20 7946 0958",
# "+34 912 345 678" (each group one word of 2 to 4 digits, or groups joined by - or .).
_COUNTRY_CODE = re.compile(r"^\+(\d{1,3})$")
_DIGIT_GROUPS = re.compile(r"^\(?\d{2,4}\)?(?:[-.]\d{2,4})*$")
# Emergency numbers, read digit by digit after "call", "dial", "llama al", "marca el".
_EMERGENCY = {"911", "112", "999"}
_DIALING = {"call", "dial", "llama", "llame", "llamar", "marca", "marque", "marcar"}
_SHORT_PHONE = re.compile(r"^(\d{3})-(\d{4})$")
_AREA = re.compile(r"^\((\d{3})\)$")
_FRACTION = re.compile(r"^(\d{1,4})/(\d{1,4})$")
_DECADE = re.compile(r"^(?:['\u2019](\d0)|(1\d|20)?(\d0))['\u2019]?s$")
_ROMAN = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")
_INITIAL = re.compile(r"^[A-Z]\.$")
_ACRONYM = re.compile(r"^(?:[A-Za-z]\.){2,}$")
# A degree or title written in dotted parts of up to three letters, one of them a single
# letter ("Ph.D.", "M.Sc.", "B.Sc.", "Ed.D.", "LL.M."): said letter by letter, as it is
# spoken. The single letter keeps two abbreviations run together ("Co.Ltd.") out.
_DEGREE = re.compile(
    r"^(?=(?:[A-Za-z]{1,3}\.)*[A-Z]\.)(?=[A-Z])(?:(?:[A-Z][a-z]{1,2}|LL|[A-Z])\.){2,3}$"
)
# A full stop of a spaced ellipsis, the last one with what closes it (". . .”,").
_SPACED_STOP = re.compile(r"\.[\"'\u201d\u2019)\]]*[,;:!?]?")
_NON_SPEECH = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}


# Spanish nouns in -a that are masculine (numbers before them agree: "un día", "doscientos
# problemas"); other nouns in -a or -as are taken as feminine ("una hora", "veintiuna
# libras"), the rest as masculine.
_ES_FEMININE = set(words(
    "mujer madre noche gente parte clase calle llave nube leche carne tarde muerte suerte"
    " fuente frase base mente fe red ley flor piel sal miel cárcel imagen torre sede serie"
    " especie superficie planicie vez voz luz paz cruz nariz raíz crisis tesis dosis hipótesis"
))  # fmt: skip
_ES_FEMININE_ENDINGS = ("ción", "sión", "dad", "tad", "tud", "umbre", "cion", "sion")
# (costumbre, cumbre: -umbre; not -ie: "pie" is masculine)
_ES_MASCULINE_A = {
    "día", "mapa", "problema", "programa", "sistema", "tema", "idioma", "clima", "planeta",
    "poema", "dilema", "esquema", "drama", "lema", "cometa", "sofá", "papá",
}  # fmt: skip


# Spanish words that follow a number without being what it counts: prepositions,
# conjunctions, articles, pronouns, common verbs ("el 1 de mayo", "entre 1 y 2", "Hay 1 en
# la mesa", "el número 1 es"). Before them a number is said whole ("uno", "veintiuno", as
# in Spain), not cut to "un" and not made feminine by the word's -a ("1 para todos").
_ES_NOT_NOUNS = set(words(
    "a al ante bajo con contra de del desde durante en entre hacia hasta mediante para por"
    " según sin so sobre tras y e o u ni que pero sino como cuando donde si porque aunque"
    " el la lo los las un una unos unas este esta esto estos estas ese esa eso esos esas"
    " mi mis tu tus su sus nuestro nuestra yo tú él ella ellos ellas usted ustedes nosotros"
    " nosotras vosotros se me te le les nos os es son era eran fue fueron será serán sea"
    " está están estaba estaban estuvo hay había habrá ha han he has hemos tiene tienen"
    " tenía tuvo va van iba hace hizo puede pueden más menos muy ya no sí también solo"
    " sólo tampoco casi cada todo todos toda todas ni"
))  # fmt: skip


def _table_form(body: str, table: dict[str, tuple[str, bool]]) -> str | None:
    """The abbreviation of ``table`` that ``body`` is, perhaps with punctuation after it
    ("i.e.," is "i.e."); None if it is none."""
    if body in table:
        return body
    for end in range(min(len(body), _LONGEST_ABBREVIATION), 0, -1):  # not the whole word
        if body[:end] in table and _TRAIL.fullmatch(body[end:]):
            return body[:end]
    return None


def _paired(digits_: str) -> str:
    """Three or four digits said in pairs, as a screen's size or a video's lines are
    ("1920" nineteen twenty, "1080" ten eighty, "720" seven twenty, "800" eight hundred)."""
    n = integer(digits_)
    high, low = divmod(n, 100)
    if not n % 1000 or high == 0:
        return cardinal(n)  # "2000": two thousand
    if not low:
        return f"{cardinal(high)} hundred"  # "1200": twelve hundred, "800": eight hundred
    return f"{cardinal(high)} {'oh ' if low < 10 else ''}{cardinal(low)}"


def _decade_said(match: re.Match) -> str:
    """A decade matched by _DECADE: "1990s" nineteen nineties, "'80s" and "80s" eighties."""
    short, century, decade = match.groups()
    if short:
        said = cardinal(integer(short))
    elif century:
        said = year(integer(century + decade))
    else:
        said = cardinal(integer(decade))
    return (said[:-1] + "ies") if said.endswith("y") else said + "s"


def _is_proper(fraction: str) -> bool:
    """Whether "n/d" is a fraction under one ("1/2", not "24/7")."""
    n, _, d = fraction.partition("/")
    return 0 < integer(n) < integer(d) <= 10


def _es_gender(noun: str) -> str:
    word = noun.lower().strip(".,;:!?\"')")
    singular = word[:-1] if word.endswith("s") else word
    if singular in _ES_MASCULINE_A:
        return "m"
    if singular.endswith(("a", "á")):
        return "f"
    # Feminine without an -a: "mujeres", "noches", "canciones", "ciudades", "veces".
    stem = word[:-2] if word.endswith("es") else singular
    forms = {singular, stem, word[:-3] + "z" if word.endswith("ces") else stem}
    if forms & _ES_FEMININE or any(f.endswith(_ES_FEMININE_ENDINGS) for f in forms):
        return "f"
    return "m"


# A word of letters (apostrophes and hyphens inside) with ordinary punctuation around it.
# Words espeak spells or misreads, said whole: finance's shorthand, programming languages,
# the World Health Organization after "the" (else "who").
_SAID_WHOLE = {
    "en": {"YoY": "year over year", "y/y": "year over year", "m/m": "month over month",
           "q/q": "quarter over quarter", "MoM": "month over month", "QoQ": "quarter over quarter",
           "P/E": "P.E", "FTSE": "Footsie", "C#": "C sharp", "F#": "F sharp",
           "IPv4": "I.P.V four", "IPv6": "I.P.V six"},
    "es": {"C#": "C sharp"},
}  # fmt: skip
# US states' postal codes, before a ZIP code said digit by digit ("DC 20500").
_STATE_CODES = set(words(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH"
    " NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
))  # fmt: skip
# Capitals before a number that do not name a model ("USD 2024", "AD 79", "BC", a month).
_NOT_MODELS = set(words("AD BC BCE CE USD EUR GBP JPY MXN ARS COP CLP PM AM UTC GMT EST PST"
                        " CST MST EDT PDT ZIP NO ISO NHS RSS"))  # fmt: skip
# Verbs ending in s after a model's number ("the RTX 4090 has"), not a plural it counts.
_MODEL_VERBS = set(words(
    "has is was does costs uses runs needs offers supports gets comes makes takes delivers"
    " features includes remains sells beats draws weighs ships starts departs arrives leaves"
    " lands lists"
))  # fmt: skip
# Words after a three-digit status code said in pairs ("a 404 error": four oh four).
_STATUS_WORDS = set(words("error status code page response"))
_C_POSSESSIVE = re.compile(r"(?<=[^\W\d_])c['\u2019]s\b")
_PLAIN_WORD = re.compile(
    r"^[\"'\u201c\u2018\u00ab(\[\u00bf\u00a1]*[^\W\d_]+(?:['\u2019-][^\W\d_]+)*"
    r"[\"'\u201d\u2019\u00bb)\].,;:!?\u2026]*$"
)


class _MinusZero(int):
    """The whole part of a negative number under one ("-0.5", "-$0.50"): zero, which an int
    cannot sign, so it says "minus" itself (an int 0 read "-0.5" as "zero point five")."""

    def __new__(cls) -> _MinusZero:
        return super().__new__(cls, 0)


def _number_pattern(language: str) -> str:
    return _NUM_ES if language == "es" else _NUM_EN


def tokens(text: str, language: str = "en") -> list[Token]:
    """The words of one stretch of text (whitespace separates them), each with its spoken
    form. ``language``: en or es get the full treatment; any other only drops emoji."""
    raw = text.split()
    if language not in LANGUAGES:
        return [Token(word, _without_pictographs(word)) for word in raw]
    return _Reader(raw, language).read()


def parse_number(text: str, language: str = "en") -> tuple[int, str] | None:
    """(integer part, decimal digits) of a number as ``language`` writes it, or None."""
    return _Reader([text], language if language in LANGUAGES else "en")._parse(text.strip())


def number_words(text: str, language: str = "en") -> str | None:
    """A number as ``language`` writes it ("1,234.5", "1.234,5"), in words; None if it is
    not one."""
    reader = _Reader([text], language if language in LANGUAGES else "en")
    return reader._as_number(text.strip())


def month_name(number: int, language: str = "en") -> str:
    return _MONTHS["es" if language == "es" else "en"][number - 1]


def spoken_form(text: str, language: str = "en") -> str:
    """What is said for ``text`` (its tokens' spoken forms joined)."""
    return " ".join(t.spoken for t in tokens(text, language) if t.spoken)


def _ellipsis_said(spoken: str, ends: bool) -> str:
    """A word's ellipses as the voice should pause: none at its start or before other
    punctuation ("...and", '"…and', "What...?"), a comma before more words ("Well...maybe",
    "Well... maybe", one on its own: "He paused … then"), a full stop where the sentence
    ends ("I don't know...", "Well... Maybe"). Linear in the word's length: a word of
    200,000 characters ("a...b...c...") holds as many ellipses."""
    pieces = re.split(f"({_ELLIPSIS.pattern})", spoken)
    # What follows each piece: its first character past closing quotes, and whether any
    # text does (from the end, so that no piece joins the rest of the word again).
    first, text = [""] * len(pieces), [False] * len(pieces)
    for k in range(len(pieces) - 2, -1, -1):
        rest = pieces[k + 1].lstrip(_CLOSING)
        first[k] = rest[:1] if rest else first[k + 1]
        text[k] = bool(pieces[k + 1].strip(_CLOSING + " ")) and not _ELLIPSIS.fullmatch(
            pieces[k + 1]
        )
        text[k] = text[k] or text[k + 1]
    out, last = [], ""  # last: the last character said, past opening quotes and spaces
    for k, piece in enumerate(pieces):
        if not _ELLIPSIS.fullmatch(piece):
            out.append(piece)
            last = piece.rstrip(_OPENING)[-1:] or last
            continue
        if not last and text[k]:
            said = ""  # its start: "...and then"
        elif (last and last in _PUNCTUATION) or (first[k] and first[k] in _PUNCTUATION):
            said = ""  # "What...?", "Why!..."
        elif text[k]:
            said = ", "  # "Well...maybe"
        else:
            said = "." if ends else ","
        out.append(said)
        last = said.strip()[-1:] or last
    return "".join(out)


_OPENING = "\"'\u201c\u2018\u00ab([ \u00bf\u00a1"
_CLOSING = "\"'\u201d\u2019\u00bb)]"
_PUNCTUATION = ",;:.!?\u00bf\u00a1"


def _parenthetical(written: str, spoken: str, previous: str, following: str) -> str:
    """A parenthesis around words as a reader pauses at it ("He (reluctantly) agreed": He,
    reluctantly, agreed), which the voice did not: a comma after the words before its
    opening, and after its closing when words follow; a parenthesis a rule said whole
    ("(104°F)", "Smith (2019) found") alike. Not inside a word ("word(s)", "f(x)"), nor a list's
    marker ("(1)", "(a)"), nor an area code ("(555) 123-4567", whose opening is dropped)."""
    whole = (
        re.fullmatch(r"\([^()\s]+\)[^\w()]*", written) is not None
        and spoken != written
        and not re.fullmatch(r"\((?:\d{1,2}|[A-Za-z]|[ivx]+)\)[^\w()]*", written)
    )
    pause = bool(previous) and not previous.rstrip(_CLOSING).endswith(tuple(_PUNCTUATION))
    if whole and spoken.startswith("(") and (closing := spoken.rfind(")")) > 0:
        after = spoken[closing + 1 :]
        words_follow = following and not following.startswith(tuple(_PUNCTUATION))
        ends = "," if not after and words_follow else ""
        return (", " if pause else "") + spoken[1:closing] + ends + after
    if spoken.startswith("(") and ")" in written.split()[0][1:] and ")" not in spoken:
        return spoken[1:]  # "(555) 123-4567": a rule took the closing; the opening goes too
    if written.startswith("(") and written[1:2].isalpha() and spoken.startswith("(") and pause:
        spoken = ", " + spoken[1:]
    # Its closing, when its opening is this word's first character or in an earlier word.
    inside = "(" in written and not written.startswith("(")
    closes = re.search(r"[^\W\d_]\)$", written) and spoken.endswith(")")
    if closes and not inside and following and not following.startswith(tuple(_PUNCTUATION)):
        spoken = spoken[:-1] + ","
    return spoken


def _without_pictographs(text: str) -> str:
    """``text`` less emoji and other pictographs (and their joiners and modifiers)."""
    kept = []
    for ch in text:
        if ch in _NON_SPEECH or ch == "\u00b0":
            if ch == "\u00b0":
                kept.append(ch)
            continue
        category = unicodedata.category(ch)
        if category == "So" or (category == "Sk" and ord(ch) > 0x2000):
            continue
        kept.append(ch)
    return "".join(kept)


def _dialogue(word: str, language: str, starts: bool = True) -> str | None:
    """A stutter or an interjection of consonants as a reader says it ("W-w-what": What,
    what, what; "Shh": Sch), or None. "I-I" stays: espeak says it. A dialogue dash or an
    opening mark before it stays ("—N-no", "—¡Mmm!"). A stutter in capitals only where a
    sentence or a quote ``starts``: mid-sentence "an R-rated movie", "the D-dimer test" are
    a letter and a word."""
    opening = _DIALOGUE_OPENING.match(word).group(0)
    if opening:
        said = _dialogue(word[len(opening) :], language)
        return None if said is None else opening + said
    if "-" in word and (stutter := _STUTTER.fullmatch(word)):
        letters, repeats, said = stutter.groups()
        compound = word.lower() in _NOT_STUTTERS or letters == "e"
        if (
            said.lower() != letters.lower()  # "I-I", "Mm-mm"
            and not (len(letters) == 2 and _VOWELS & set(letters))  # "re-read", "co-counsel"
            and (said[0].islower() or word.isupper())  # "D-Day", "X-Xtra"; "B-BUT"
            and (starts or letters.islower())
            and not compound
        ):
            first = said[0].upper() + said[1:] if letters[0].isupper() else said
            copies = min(repeats.count("-") + 2, _MOST_REPEATS)
            return ", ".join([first] + [said] * (copies - 1))
    if (word.isupper() and len(word) <= 3) or word in ("sh", "ssh", "pst"):
        return None  # "PST", "HM", "MMM": an acronym; "ssh", "sh": commands
    if word in _UNITS:
        return None  # "in mm"
    if interjection := _INTERJECTION.fullmatch(word):
        said = _INTERJECTIONS[language][interjection.lastgroup]
        return said[0].upper() + said[1:] if word[0].isupper() else said
    return None


class _Reader:
    """One pass over the words; a rule may take the next words too ("5 km", "3:30 pm")."""

    def __init__(self, raw: list[str], language: str):
        self.raw = raw
        self.language = language
        self.es = language == "es"
        self.words = _WORDS[language]
        self.number = re.compile(rf"^[-\u2212+]?(?:{_number_pattern(language)})$")
        self.out: list[Token] = []
        self.i = 0
        # Set by a rule whose last word's dots belong to it ("p. m."): its own ending.
        self._ending: str | None = None
        # Straight double quotes read so far: odd while a quote is open, when a '"' after a
        # number closes it ('"I'm 6" she said') rather than marking inches ('a 2" pipe').
        self._quotes = 0
        # Words in capitals said in lowercase (see _capitals_said_as_words), set by read().
        self._lowered: set[int] = set()

    # -- the loop ---------------------------------------------------------------------------

    def read(self) -> list[Token]:
        self._lowered = self._capitals_said_as_words()
        while self.i < len(self.raw):
            word = self.raw[self.i]
            if self._letter_a(word):  # "plan A failed": the letter, not the article
                self.out.append(Token(word, self._letter_names("A") + word[1:]))
                self.i += 1
                continue
            if _PLAIN_WORD.match(word) and not self._special_word(word):
                # Most words: letters and punctuation, nothing to say differently; but
                # espeak voices the s of "public's", "Eric's", "Doc's" as z: "publics".
                said = self._lowercase(word) if self.i in self._lowered else word
                self.out.append(Token(word, _C_POSSESSIVE.sub("cs", said)))
                self._quotes += word.count('"')
                self.i += 1
                continue
            taken, spoken = (
                self._spaced_ellipsis()
                or (self._pair() if word.endswith(".") else None)
                or self._word(word)
            )
            written = " ".join(self.raw[self.i : self.i + taken])
            self.out.append(Token(written, spoken))
            self._quotes += written.count('"')
            self.i += taken
        return self._with_pauses(self.out)

    def _lowercase(self, word: str) -> str:
        """A word in capitals said as a word: in lowercase, but capitalized where it starts a
        sentence ("YOU did." You), where espeak ends a sentence only before a capital."""
        lowered = word.lower()
        previous = self.raw[self.i - 1].rstrip(_CLOSING) if self.i else "."
        opening = _LEAD.match(lowered)
        if previous.endswith(SENTENCE_ENDS) or opening:
            start = opening.end() if opening else 0
            return lowered[:start] + lowered[start : start + 1].upper() + lowered[start + 1 :]
        return lowered

    def _capitals_said_as_words(self) -> set[int]:
        """Where a short word in capitals is said as a word, in lowercase ("a BIG mistake",
        "STOP IT NOW!", "LEAVE US ALONE!"), which espeak spelled ("B I G", "I T"): one of
        _EMPHASIZED anywhere, one of _SHOUTED in a run of three or more words in capitals
        (not "THE US ARMY"). Acronyms stay ("the FBI", "the IT department")."""
        emphasized, shouted = _EMPHASIZED[self.language], _SHOUTED[self.language]
        lowered: set[int] = set()
        run: list[tuple[int, str]] = []
        for k, word in enumerate([*self.raw, ""]):
            core = _TRAIL.sub("", _LEAD.sub("", word)) if word.isupper() else ""
            if core.isupper() and re.sub(r"['\u2019-]", "", core).isalpha():
                run.append((k, core))
                continue
            if len(run) <= 2:  # among lowercase words only: a text in capitals reads as words
                lowered.update(at for at, said in run if said in emphasized)
            if len(run) >= 3:
                for j, (at, said) in enumerate(run):
                    if said in shouted and not (said == "US" and j and run[j - 1][1] == "THE"):
                        lowered.add(at)
            run = []
        return lowered

    def _with_pauses(self, tokens: list[Token]) -> list[Token]:
        """The pauses a reader makes where the voice made none (see _ELLIPSIS): at an
        ellipsis, a dash, a separator, around a parenthesis, and between words run
        together by punctuation ("Stop!Go", "one,two")."""
        said: list[Token] = []
        for k, token in enumerate(tokens):
            if token.phonemes:
                said.append(token)
                continue
            previous = said[-1].spoken if said else ""
            following = tokens[k + 1].written if k + 1 < len(tokens) else ""
            spoken = self._separator(token, tokens[k - 1].written if k else "", following)
            spoken = _RUN_ON.sub(r"\1 ", _DASH_IN_WORD.sub(", ", spoken))  # "Wait—no": Wait, no
            spoken = _parenthetical(token.written, spoken, previous, following)
            if _ELLIPSIS.search(spoken):
                ends = not following or _LEAD.sub("", following)[:1].isupper()
                before = previous.rstrip(_CLOSING)
                if before.endswith(tuple(_PUNCTUATION)) and not _ELLIPSIS.sub("", spoken).strip(
                    _OPENING + _CLOSING
                ):
                    spoken = ""  # "It ends. . . . Then": the full stop is the pause
                else:
                    spoken = _ellipsis_said(spoken, ends)
            said.append(token if spoken == token.spoken else replace(token, spoken=spoken))
        return said

    def _separator(self, token: Token, previous: str, following: str) -> str:
        """A dash, an asterisk or a separator written on its own: between two numbers a
        range ("10 - 20", an en dash too: ten to twenty) or a product ("5 * 4": five times four);
        elsewhere a dash ("Wait -- no", "A - B") or a separator ("Home | About", "Top •
        bottom") is a pause."""
        written, spoken = token.written, token.spoken
        if spoken != written:
            return spoken
        numbers = bool(_NUMBER_END.search(previous) and _NUMBER_START.match(following))
        if written in _DASHES:
            if numbers and written != "\u2014":
                return self.words["to"]
            return "\u2014"
        if written == "*" and numbers:
            return "por" if self.es else "times"
        if written in _SEPARATORS and previous and following and not numbers:
            return ","
        return spoken

    def _spaced_ellipsis(self) -> tuple[int, str] | None:
        """Full stops written apart, as printed books space an ellipsis ("He paused . . .
        then", ". . .”"): one ellipsis. Each was a sentence of its own, a full stop the
        voice (and a job's parts) cut the sentence at three times."""
        taken = 0
        while _SPACED_STOP.fullmatch(word := self._peek(taken)):
            taken += 1
            if word != ".":
                break  # its closing quote or comma ends the run
        if taken < 3:
            return None
        return taken, "\u2026" + self._peek(taken - 1)[1:]

    def _special_word(self, word: str) -> bool:
        """Whether a word of letters still needs a rule: an abbreviation, a currency code
        or a month before a number, a Roman numeral after "Chapter", an initial."""
        core = word.rstrip(".,;:!?\"')]\u201d\u2019\u2026")
        bare = _LEAD.sub("", core)
        numeral = _POSSESSIVE.sub("", core)  # "Henry VIII's", "Charles I's"
        return (
            word.rstrip(",;:!?\"')]\u201d\u2019").endswith(".")  # "Jr.," and "I.e.," too
            or _dialogue(bare, self.language, self._starts_here()) is not None  # "W-what"
            or bare.startswith("WW")  # "WWII"
            or core in _CURRENCIES
            or core in _UNITS
            or self._previous_word() in _ROMAN_CONTEXT[self.language]
            or (self._previous_word() in _ROMAN_CONTEXT_MORE[self.language] and _ROMAN.match(core))
            or (len(numeral) >= 2 and _REGNAL.match(numeral) is not None)
            or (numeral in ("I", "V", "X") and self.i > 0 and self.raw[self.i - 1] in _MONARCHS)
            or core in _VULGAR_FRACTIONS
            or core in ("Ms", "vs", "WHO")
            or core in _SAID_WHOLE[self.language]
            or _DAY_RANGE.fullmatch(core) is not None
            or _MONTH_RANGE.fullmatch(core) is not None
            or "\u00ba" in core  # "nº 1": número (º is a letter to the plain-word pattern)
            or (self._alone() and _ROMAN.fullmatch(core) is not None)  # a chapter's "XII"
            or (core in _MONTH_ABBREVIATIONS["en"] and not self.es)  # "Aug 5"
            or core.endswith(("\u00b2", "\u00b3"))  # "x²": squared
            or (core == "x" and self._between_numbers())  # "12 x 14": by
        )

    def _letter_names(self, letters: str) -> str:
        """Capital letters said as their names: "AT" A.T (spell joins them with full stops),
        and "A" alone "eh", which espeak says as the letter (it says a lone "A" as the article
        "uh", and "A." too)."""
        return "eh" if letters == "A" else spell(letters, self.language)

    def _letter_a(self, word: str) -> bool:
        """Whether a capital "A" here is the letter ("plan A failed", "an A in math",
        "Grade A beef", "vitamin A."), not the article: it does not start a sentence, a quote
        or a clause after a colon, and is not a title's ("He read A Tale of Two Cities")."""
        if self.es or _TRAIL.sub("", word) != "A" or self.i == 0:
            return False
        previous = self.raw[self.i - 1]
        if previous.rstrip(_CLOSING).endswith((*SENTENCE_ENDS, ":", "\u2014", "\u2013", "-")):
            return False
        if len(previous) > 1 and previous.isupper():
            return False  # a text in capitals: "HE GOT AN A AND A B" (the article too)
        following = _TRAIL.sub("", _LEAD.sub("", self._peek()))
        # not a title's first word: "read A Tale of Two Cities", "A Star Is Born"
        return bool(_TRAIL.search(word)) or not following[:1].isupper() or len(following) == 1

    def _alone(self) -> bool:
        """Whether this word is all the text there is (a heading, a paragraph)."""
        return len(self.raw) == 1

    def _between_numbers(self) -> bool:
        """Whether the word here stands between a number (or a number's unit: "3 cm x 2
        cm") and a number: a dimension's "x"."""
        before = self.raw[self.i - 1] if self.i else ""
        if before in _UNITS and self.i >= 2:
            before = self.raw[self.i - 2]
        return bool(  # an inch mark or a prime after it too: 12" x 14"
            re.fullmatch(r"\d[\d.,]*[\"'\u2032\u2033]?", before) and re.match(r"\d", self._peek())
        )

    def _peek(self, ahead: int = 1) -> str:
        at = self.i + ahead
        return self.raw[at] if at < len(self.raw) else ""

    def _previous_word(self, back: int = 1) -> str:
        at = self.i - back
        return self.raw[at].lower().strip("\"'(),;:") if at >= 0 else ""

    def _pair(self) -> tuple[int, str] | None:
        """Two-word abbreviations ("p. ej.", "EE. UU.", "a. m.")."""
        pair = f"{self.raw[self.i]} {self._peek()}"
        for form, (spoken, ends) in _ABBREVIATIONS[self.language].items():
            if " " in form and pair.startswith(form):
                rest = pair[len(form) :]
                if not rest or _TRAIL.fullmatch(rest):
                    return 2, spoken + self._abbreviation_end(ends, rest, 2)
        return None

    def _word(self, word: str) -> tuple[int, str]:
        lead_match = _LEAD.match(word)
        lead = lead_match.group(0) if lead_match else ""
        body = word[len(lead) :]
        # Abbreviations and before-number words carry their own dots.
        taken = self._abbreviation(body)
        if taken is not None:
            return taken[0], lead + taken[1]
        trail_match = _TRAIL.search(body)
        trail = trail_match.group(0) if trail_match else ""
        core = body[: len(body) - len(trail)] if trail else body
        if not core:
            return 1, word
        # "+5%", "+3 °C": a plus sign said (a telephone's "+44" is the phone rule's).
        if re.match(r"\+[\d$€£¥]", core) and self._phone(core, trail) is None:
            lead, core = f"{lead}{self.words['plus']} ", core[1:]
        elif re.match(r"~[\d$€£¥]", core):  # "~5": about five
            lead, core = f"{lead}{_SYMBOLS[self.language]['~']} ", core[1:]
        if lead.endswith(("'", "\u2019")) and all(
            _DECADE.match(d) for d in re.split(r"[-\u2013]", lead[-1] + core)
        ):
            lead, core = lead[:-1], lead[-1] + core  # "'90s": its apostrophe is no quote
        elif (
            lead.endswith(("'", "\u2019"))
            and not self.es
            and re.fullmatch(r"\d\d", core)
            and not trail.startswith(("'", "\u2019"))
        ):  # "in '07", "class of '99": a year's last two digits, oh seven, ninety-nine
            short = integer(core)
            said = f"oh {cardinal(short)}" if short < 10 else cardinal(short)
            return 1, lead[:-1] + said + trail
        for rule in self._rules():
            self._ending = None
            result = rule(core, trail)
            if result is not None:
                taken, spoken = result
                if self._ending is not None:
                    return taken, lead + spoken + self._ending
                return taken, lead + spoken + (trail if taken == 1 else self._tail(taken))
        plain = self._plain(core)
        return 1, lead + (plain.lower() if self.i in self._lowered else plain) + trail

    def _tail(self, taken: int) -> str:
        """Trailing punctuation of the last word a rule took."""
        last = self.raw[self.i + taken - 1]
        match = _TRAIL.search(last)
        return match.group(0) if match else ""

    def _rules(self) -> list[Callable[[str, str], tuple[int, str] | None]]:
        return [
            self._dialogue,
            self._world_war,
            self._url,
            self._email,
            self._exponent,
            self._said_whole,
            self._code_number,
            self._per,
            self._currency,
            self._percent,
            self._military,
            self._meridiem_range,
            self._day_to_month,
            self._verse,
            self._time,
            self._time_range,
            self._ratio,
            self._plus_after,
            self._feet_inches,
            self._inches,
            self._date,
            self._day_and_month,
            self._version,
            self._ordinal,
            self._phone,
            self._decade,
            self._mixed_number,
            self._fraction,
            self._range,
            self._times,
            self._scaled,
            self._number_and_unit,
            self._roman,
            self._month_day,
            self._symbol,
            self._angles,
            self._hyphenated,
            self._power,
        ]

    def _per(self, core: str, trail: str):
        """ "$1,500/month", "$25/hr", "5mg/kg": an amount (money, or a number and its unit)
        per each unit or period after its slashes ("10 mg/kg" and "1,65 €/l" are taken by
        the number, see _per_unit)."""
        split = self._per_unit(core)
        if split is None or not re.match(r"[-\u2212]?(?:US\$|[$€£¥])?\d", split[0]):
            return None
        head, per = split
        for rule in (self._currency, self._number_and_unit):
            said = rule(head, ",")  # as if punctuation followed: the next word is not its
            if said is not None and said[0] == 1:
                return 1, f"{said[1]} {per}"
        return None

    def _per_unit(self, word: str) -> tuple[str, str] | None:
        """(what comes before the first slash, "per ..." said) for a word whose every part
        after a slash is a unit, a period or a lowercase word ("mg/kg/day": per kilogram per
        day); else None."""
        head, *parts = _TRAIL.sub("", word).split("/")
        if not head or not parts:
            return None
        said = []
        for part in parts:
            if part in _UNITS:
                unit = _UNITS[part][self.es][0]
            elif part in _PER_PERIODS[self.language]:
                unit = _PER_PERIODS[self.language][part]
            elif part.isalpha() and part.islower() and len(part) >= 3:
                unit = part
            else:
                return None
            said.append(f"{_PER[self.language]} {unit}")
        return head, " ".join(said)

    def _power(self, core: str, trail: str):
        """ "5²", "x²", "a³": squared, cubed ("m²" after a number is a unit, taken before)."""
        match = re.fullmatch(r"(\d+(?:[.,]\d+)?|[A-Za-z])([\u00b2\u00b3])", core)
        if match is None:
            return None
        base, power = match.groups()
        if base == "m" and power == "\u00b2" and self._previous_word() in ("per", "por", "/"):
            return 1, "metro cuadrado" if self.es else "square meter"  # "€3,000 per m²"
        said = self._plain(base) if base[0].isdecimal() else base
        return 1, f"{said} {_POWERS[self.language][power]}"

    # -- abbreviations ------------------------------------------------------------------------

    def _abbreviation(self, body: str) -> tuple[int, str] | None:
        core = _TRAIL.sub("", body)
        if (days := _DAY_RANGE.fullmatch(core)) and not self.es:
            first, last = (_WEEKDAYS_SHORT.get(day) for day in days.groups())
            if first and last:  # "Mon-Fri", "Mon.-Sat.,": Monday to Saturday
                rest = body[len(core) :]
                if rest.startswith(".") and self._peek() and not self._peek()[:1].isupper():
                    rest = rest[1:]
                return 1, f"{first} {self.words['to']} {last}{rest}"
        if (months := _MONTH_RANGE.fullmatch(core)) and all(
            month in _MONTHS[self.language] for month in months.groups()
        ):
            first, last = months.groups()
            return 1, f"{first} {self.words['to']} {last}{body[len(core) :]}"
        if (tag := _HASHTAG.match(core)) and not _NOT_HASHTAG.fullmatch(tag.group(1)):
            # "#BlackLivesMatter": hashtag Black Lives Matter
            said = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|_", " ", tag.group(1)).strip()
            return 1, f"hashtag {said}{body[len(core) :]}"
        if core == "vs" and not self.es and _TRAIL.sub("", self._peek()) != "code":
            return 1, "versus" + body[2:]  # "Lakers vs Celtics": espeak says "V S"
        if body == "v." and not self.es and self._between_names():
            return 1, "versus"  # "Roe v. Wade"; not "iv. Discussion v. Conclusion"
        if body.startswith("al.") and core == "al" and self._previous_word() == "et":
            return 1, "al" + self._abbreviation_end(True, body[3:], 1)  # "Smith et al. found"
        if (
            re.fullmatch(r"Ms[,;:]?", body)
            and not self.es
            and self._peek()[:1].isupper()
            and _TRAIL.sub("", self._peek()) not in _MS_OFFICE
        ):
            return 1, "Miz" + body[2:]  # "Ms Li": espeak says "M S"
        if body == "Assoc." and self._peek().startswith(("Prof", "Dir", "Dean", "Ed", "Just")):
            return 1, "Associate"  # "Assoc. Prof.", "Assoc. Director"; else Association
        if body in _BIBLE_ABBREVIATIONS and _VERSE.match(_TRAIL.sub("", self._peek())):
            return 1, _BIBLE_ABBREVIATIONS[body]  # "Gen. 1:1": Genesis chapter one, verse one
        if not any(mark in body for mark in "./º#§"):
            # Every abbreviation and before-number word holds one of these: most words (a
            # number, "%") skip the tables.
            month = self._month_abbreviation(body)
            return (1, month) if month else None
        table = _ABBREVIATIONS[self.language]
        before_number = _BEFORE_NUMBER[self.language]
        if body in ("c.", "ca.") and re.match(r"\d{3,4}(?:s|'s)?\b", self._peek()):
            return 1, "circa"  # "c. 1850", "ca. 1200s": about that year
        next_is_number = bool(re.match(r"^\(?\d", self._peek()))
        before = self.raw[self.i - 1] if self.i else ""
        answered = body.lower() == "no." and (
            (body == "no." and self._previous_word() in _ANSWERED_NO)
            # An answer to a question ("Done? No. 5 more minutes"), or before an ordinal
            # ("No. 3rd place"), is the word, capitalized too.
            or before.rstrip("\"'\u201d\u2019").endswith("?")
            or re.match(r"^\d+(?:st|nd|rd|th)\b", self._peek()) is not None
        )
        for form in sorted(before_number, key=len, reverse=True):
            if body.startswith(form) and next_is_number and not answered:
                rest = body[len(form) :]
                if rest == "" or (form in ("#", "§") and rest[:1].isdecimal()):
                    if rest:  # "#5", "§12"
                        n = self._as_number(rest.rstrip(".,;:!?"))
                        if n is not None:
                            return 1, f"{before_number[form]} {n}" + rest[
                                len(rest.rstrip(".,;:!?")) :
                            ]
                    return 1, before_number[form]
        if body[:1] in "#§" and body[1:].rstrip(".,;:!?").isdecimal():  # "#1", "§12"
            rest = body[1:].rstrip(".,;:!?")
            said = before_number.get(body[0], body[0])
            return 1, f"{said} {cardinal(integer(rest), self.language)}" + body[1 + len(rest) :]
        numeral = _TRAIL.sub("", self._peek())
        if self.es and body in _CENTURY and _CENTURY_NUMERAL.fullmatch(numeral):
            return 1, _CENTURY[body]
        for form, (spoken, ends) in table.items():
            if " " in form:
                continue
            if body == form or (body.startswith(form) and _TRAIL.fullmatch(body[len(form) :])):
                rest = body[len(form) :]
                if form in _STREETS and not self.es and self._names_a_street():
                    # A town may follow a street ("10 Downing St. London"): only a word
                    # that starts sentences ends one there.
                    following = self._peek()
                    ends = not rest and (not following or self._starts_sentence())
                    return 1, _STREETS[form] + ("." if ends else rest)
                return 1, spoken + self._abbreviation_end(ends, rest, 1)
        lower = body[0].lower() + body[1:]
        if body[:1].isupper() and (form := _table_form(lower, table)):
            # "E.g. the", "I.e.,", "Approx. 50": a lowercase abbreviation opening a sentence
            spoken, ends = table[form]
            rest = body[len(form) :]
            return 1, spoken[0].upper() + spoken[1:] + self._abbreviation_end(ends, rest, 1)
        if month := self._month_abbreviation(body):
            return 1, month
        if compass := self._compass(body):
            return 1, compass
        if (
            self.es
            and body == "D."
            and self._peek()[:1].isupper()
            and len(_TRAIL.sub("", self._peek())) > 1  # "el grupo D. Y el": a letter
            and not (before[:1].isupper() and before.isalpha())
        ):  # "D. Quijote", "a D. Juan": don; a middle initial ("Roberto D. García") stays
            return 1, "don"
        if (
            _INITIAL.match(body)
            and self._peek()[:1].isupper()
            and not self._starts_sentence()
            and not self._labels_a_letter()
        ):
            return 1, body[0]  # "J. K. Rowling"; "an A. The teacher" keeps its full stop
        stripped = body.rstrip(",;:!?)\"'")
        if _DEGREE.match(stripped):  # "Ph.D.", "M.Sc.": letter names, P H D
            letters = spell(stripped.replace(".", "").upper(), self.language)
            rest = body[len(stripped) :]
            ends = not self._peek() or self._new_sentence()
            return 1, letters + ("." if ends and not rest else "") + rest
        if _ACRONYM.match(stripped):
            letters = spell(stripped.replace(".", ""), self.language)  # "A.I", not "A I"
            rest = body[len(stripped) :]
            ends = not self._peek() or self._new_sentence()
            return 1, letters + ("." if ends and not rest else "") + rest
        following = self._peek()
        bare = _TRAIL.sub("", following)
        if _SHORT_WORD_STOP.fullmatch(body) and bare[:1].islower() and bare.isalpha():
            # An abbreviation not in the tables before a lowercase word ("Tab. shows", "b.
            # 1950"): its full stop ends no sentence, and the voice would cut one there.
            return 1, body[:-1]
        return None

    def _between_names(self) -> bool:
        """Whether the word here stands between two capitalized names ("Roe v. Wade")."""
        before = self.raw[self.i - 1] if self.i else ""
        after = _LEAD.sub("", self._peek())
        return (
            before[:1].isupper()
            and before.rstrip(",").isalpha()
            and after[:1].isupper()
            and not re.fullmatch(r"[IVXLC]+\.?", after)
        )

    def _compass(self, body: str, ahead: int = 0) -> str | None:
        """ "42 W. 57th St.", "10 N. Main St.": a compass point (``body``, ``ahead`` words on)
        after a house number, before a street's ordinal or a capitalized name; not a unit
        ("100 W. The bulb": watts)."""
        if self.es or body not in _COMPASS:
            return None
        if not re.fullmatch(r"\d+", self.raw[self.i + ahead - 1] if self.i + ahead else ""):
            return None
        following = self._peek(ahead + 1)
        if _ORDINAL_EN.match(_TRAIL.sub("", following)) or (
            following[:1].isupper() and not self._starts_sentence(ahead + 1)
        ):
            return _COMPASS[body]
        return None

    def _labels_a_letter(self) -> bool:
        """Whether a capital letter here is the name of a thing ("vitamin C. Kids", "plan B.
        Nobody"), whose full stop ends the sentence, not an initial ("by J. Rowling"): it
        follows a lowercase word that does not lead up to a name."""
        previous = self.raw[self.i - 1] if self.i else ""
        return (
            previous.isalpha()
            and previous.islower()
            and previous not in _BEFORE_NAMES
            and self._peek(1)[:1].isupper()
            and not _INITIAL.match(self._peek(1))
        )

    def _names_a_street(self) -> bool:
        """Whether "St." / "Dr." here ends a street's name ("Main St.", "Mulholland Dr.",
        "10 Downing St. London"): after a capitalized word that does not start the sentence,
        and not before a capitalized name ("Visit St. Louis", "met Dr. Smith": Saint,
        Doctor)."""
        previous = self.raw[self.i - 1] if self.i else ""
        before = self.raw[self.i - 2] if self.i >= 2 else ""
        starts = not before or before.rstrip("\"')\u201d\u2019").endswith(SENTENCE_ENDS)
        if _ORDINAL_EN.match(previous):  # "57th St.", "5th Ave."
            return True
        if not (previous[:1].isupper() and previous.isalpha()):
            return False
        if previous in _SENTENCE_STARTS["en"] or previous in _ADDRESSING:
            return False
        following = _LEAD.sub("", self._peek())
        if self._starts_sentence():
            return True  # "10 N. Main St. The bulb": Saint goes before a name, not "The"
        if starts:  # "Oxford St. is busy", "Elm Dr. was closed"; not "Hi Dr. how are you"
            return following[:1].islower() and _TRAIL.sub("", following) in _AFTER_STREET
        return (
            not following[:1].isupper()
            or self._starts_sentence()
            or bool(re.fullmatch(r"\d+[A-Za-z]?,?", before))  # "10 Downing St. London"
        )

    def _abbreviation_end(self, ends: bool, rest: str, taken: int) -> str:
        """The full stop of an abbreviation that may end a sentence, where it does: last,
        or before a word that starts sentences ("Inc. The", not "Inc. CEO")."""
        following = self._peek(taken)
        if ends and not rest and (not following or self._new_sentence(taken)):
            return "."
        return rest

    def _new_sentence(self, ahead: int = 1) -> bool:
        """Whether the word ``ahead``, after an acronym or an abbreviation that may end a
        sentence ("U.S.", "Inc."), starts the next one: a word that starts sentences, or a
        capitalized word but for a title in capitals ("Inc. CEO") and the nouns such a word
        qualifies ("the U.S. Senate", "U.K. Government"). A sentence run into the next is
        worse than a pause in a name: "the U.S. Prices are high" keeps its full stop."""
        if self._starts_sentence(ahead):
            return True
        raw = _LEAD.sub("", self._peek(ahead))
        word = _TRAIL.sub("", raw)
        return (
            word[:1].isupper()
            and not word.isupper()
            and not raw.rstrip(",;:!?").endswith(".")  # another abbreviation: "Co. Ltd."
            and word not in _QUALIFIED[self.language]
        )

    def _starts_sentence(self, ahead: int = 1) -> bool:
        """Whether the word ``ahead`` is one that typically starts a sentence."""
        word = _LEAD.sub("", self._peek(ahead))
        return _TRAIL.sub("", word) in _SENTENCE_STARTS[self.language] and not word.endswith(".")

    def _month_abbreviation(self, body: str) -> str | None:
        """ "Jan." (before a day or a year) -> the month's name; English "Aug 5" too, and a
        capitalized English month or weekday with its full stop anywhere ("in Nov. and Dec.",
        "Fri., Oct. 4"), which espeak says as a word ("nahv", "fry")."""
        if not self.es and (said := _DAYS_AND_MONTHS.get(body.rstrip(",;:"))):
            following = self._peek()
            if body.endswith(".") and (not following or following[:1].isupper()):
                # At a sentence's end only after a word that leads to a date ("on Sun."):
                # "around the Sun.", "Ask Jan." are the star and a name.
                if self._previous_word() not in _BEFORE_DATE["en"] | {"every", "next", "last"}:
                    return None
                return said + "."
            return said + body[len(body.rstrip(",;:")) :]
        stripped = body.rstrip(".")
        if not re.match(r"^\d", self._peek()):
            return None
        if not body.endswith(".") and (
            self.es
            # a name too: "Jan 3 times"; before a year ("Jan 2024") the month
            or (stripped == "Jan" and not _YEAR_AFTER_JAN.match(self._peek()))
            or not re.match(r"^\d{1,4}(?:st|nd|rd|th)?\b", self._peek())
        ):
            return None
        table = _MONTH_ABBREVIATIONS[self.language]
        number = table.get(stripped.lower() if self.es else stripped)
        if number is None:
            return None
        return _MONTHS[self.language][number - 1]

    # -- numbers ------------------------------------------------------------------------------

    def _parse(self, text: str) -> tuple[int, str] | None:
        """(integer part, decimal digits) of a number as this language writes it."""
        text = text.replace("\u2212", "-")
        sign = -1 if text.startswith("-") else 1
        text = text.lstrip("+-")
        if not re.fullmatch(_number_pattern(self.language), text):
            return None
        if self.es:
            if "," in text:
                whole, frac = text.split(",", 1)
                whole = whole.replace(".", "")
            elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
                whole, frac = text.replace(".", ""), ""
            else:
                whole, _, frac = text.partition(".")
        else:
            whole, _, frac = text.replace(",", "").partition(".")
        value = integer(whole or "0")
        if sign < 0 and value == 0 and frac.strip("0"):
            return _MinusZero(), frac
        return sign * value, frac

    def _number_words(self, whole: int, frac: str, *, gender: str = "m", noun: bool = False) -> str:
        words = cardinal(whole, self.language, gender=gender, before_noun=noun and not frac)
        if not frac:
            return words
        if isinstance(whole, _MinusZero):
            words = f"{self.words['minus']} {words}"
        if self.es and len(frac) <= 2 and not frac.startswith("0"):
            return f"{words} coma {cardinal(integer(frac), 'es')}"
        return f"{words} {self.words['point']} {digits(frac, self.language)}"

    def _as_number(self, text: str) -> str | None:
        parsed = self._parse(text)
        return None if parsed is None else self._number_words(*parsed)

    def _plain(self, core: str) -> str:
        if _CODE_NUMBER.fullmatch(core):  # "Agent 007", "02134": a code, digit by digit
            return digits(core, self.language)
        parsed = self._parse(core)
        if parsed is None:
            cleaned = _without_pictographs(core)
            if "&" in cleaned and re.fullmatch(r"[A-Za-z]+&[A-Za-z]+", cleaned):
                # "R&D", "AT&T", "Q&A": letters named ("AT" alone is the word at; "A" uh)
                sides = [
                    self._letter_names(side) if side.isupper() and not self.es else side
                    for side in cleaned.split("&")
                ]
                return f" {self.words['and']} ".join(sides)
            return cleaned
        whole, frac = parsed
        if not frac and self._is_year(core, whole):
            return year(whole, self.language)
        if self.es and not frac:
            noun = self._noun_after()
            year_like = re.fullmatch(r"\d{4}", core) and self._previous_word() in _ES_YEAR_CONTEXT
            # "21 libros", "una hora", "doscientas personas"
            if noun and not year_like:
                return cardinal(whole, "es", gender=_es_gender(noun), before_noun=True)
            if (later := self._noun_after_another()) is not None:
                # "1 o 2 sillas", "entre 1 y 3 personas", "1 de cada 3 mujeres": una
                return cardinal(whole, "es", gender=_es_gender(later))
            if self._previous_word() in ("la", "las") and 1 <= whole <= 24:
                return cardinal(whole, "es", gender="f")  # "a la 1 de la tarde": la una
        return self._number_words(whole, frac)

    def _noun_after_another(self) -> str | None:
        """The noun that a number names with the next one ("1 o 2 sillas", "1 y 3 personas",
        "1 de cada 3 mujeres"): the word after "o/y/a/hasta <number>" or "de cada <number>"."""
        if _TRAIL.search(self.raw[self.i]):
            return None
        ahead = 3 if [self._peek(1), self._peek(2)] == ["de", "cada"] else 2
        if ahead == 2 and self._peek(1) not in ("o", "u", "y", "e", "a", "hasta"):
            return None
        number = self._peek(ahead)
        noun = _TRAIL.sub("", self._peek(ahead + 1))
        if not number.isdecimal() or not noun[:1].isalpha() or noun.lower() in _ES_NOT_NOUNS:
            return None
        # What two numbers count is plural ("sillas", "veces"); "1 y 2 da 3" has a verb.
        return noun if noun.endswith("s") else None

    def _noun_after(self) -> str | None:
        """The Spanish noun a number counts: the next word, when it is one (letters, not a
        preposition, article, verb... of _ES_NOT_NOUNS) and no punctuation comes between."""
        noun = self._peek()
        if _TRAIL.search(self.raw[self.i]) or not noun[:1].isalpha():
            return None
        if _TRAIL.sub("", noun).lower() in _ES_NOT_NOUNS:
            return None
        return noun

    def _is_year(self, core: str, n: int) -> bool:
        if self.es or not re.fullmatch(r"\d{4}", core) or not 1000 <= n <= 2999:
            return False
        previous = self._previous_word()
        if self._peek().strip(".,;:") in _ERAS or self._after_month():
            return True
        if self._after_day_of_month():
            return n <= 2099  # "March 12, 2020 we met", "Aug. 5, 1999 people"
        if re.fullmatch(r"\(\d{4}\)[^\w(]*", self.raw[self.i]):
            return n <= 2099  # "Smith (2019) found", "Vertigo (1958)": a work's year
        if previous == "of" and self._previous_word(2) == "class":
            return n <= 2099  # "the class of 1999 graduates": the year they finish
        if self._year_range():
            return True  # "In 1990 and 1991 unemployment soared", "from 2019 to 2021 prices"
        if self._range_counts():
            return False  # "from 1200 to 1500 people": both counts, as the second is
        noun_follows = self._noun_follows()
        if previous in _YEAR_CONTEXT:  # "in 2100" too, but not "in 2500 places"
            # After a determiner ("the", "a", "this"), only a recent year stays one before
            # a plural noun it may count: "the 1999 season", "the 2024 elections", but "the
            # 1250 employees"; "the 1776 declaration" is a year. After a preposition ("In
            # 1850 settlers arrived"), as before: a year up to 2099.
            if previous in _DETERMINERS and noun_follows and self._plural_follows():
                return 1900 <= n <= 2099
            return n <= 2099 or not noun_follows
        if n > 2099:
            return False
        if previous in _WEAK_YEAR_CONTEXT or previous.rstrip(",").isdecimal():
            return not noun_follows
        if n >= 2000:  # "2024 was a record year", "2020 saw": a year's verb follows
            return _TRAIL.sub("", self._peek()) in _YEAR_VERBS
        return 1100 <= n <= 1999 and not noun_follows

    def _year_range(self) -> bool:
        """Whether the number here is one of two recent years a time's preposition opens ("in
        1990 and 1991", "from 2019 to 2021", "between 1995 and 2005"), whatever follows: two
        such numbers (1900 to 2099, not both round hundreds) are years far more often than
        counts. "from 1200 to 1500 people", "between 1900 and 2000 people" stay counts."""
        here = self.raw[self.i]
        if _TRAIL.search(here):  # the second: "1991" in "in 1990 and 1991"
            return False
        if self._previous_word() in _RANGE_WORDS and self.i >= 2:
            first, second, opening = self.raw[self.i - 2], here, self._previous_word(3)
        else:
            first, second, opening = here, self._peek(2), self._previous_word()
            if _TRAIL.sub("", self._peek()) not in _RANGE_WORDS:
                return False
        second = _TRAIL.sub("", second)
        if opening not in _YEAR_RANGE_OPENERS or _TRAIL.search(first):
            return False
        if not (re.fullmatch(r"\d{4}", first) and re.fullmatch(r"\d{4}", second)):
            return False
        years = [integer(first), integer(second)]
        return all(1900 <= y <= 2099 for y in years) and not all(y % 100 == 0 for y in years)

    def _after_day_of_month(self) -> bool:
        """Whether a day of a month written first comes before: "March 12," or "Aug. 5,"."""
        if self.i < 2 or not re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?,", self.raw[self.i - 1]):
            return False
        month = self.raw[self.i - 2]
        return month in _MONTHS["en"] or month.rstrip(".") in _MONTH_ABBREVIATIONS["en"]

    def _range_counts(self) -> bool:
        """Whether the number here opens a range of counts: "to", "and", "or" or "through",
        then a four-digit number before a noun ("1200 to 1500 chairs")."""
        if _TRAIL.search(self.raw[self.i]) or self._peek() not in ("to", "and", "or", "through"):
            return False
        second = self._peek(2)
        noun = self._peek(3)
        bare = _TRAIL.sub("", noun)
        return (
            re.fullmatch(r"\d{4}", second) is not None
            and bare[:1].islower()
            and bare.isalpha()
            and bare not in _AFTER_YEAR
            and not bare.endswith("ed")
        )

    def _plural_follows(self) -> bool:
        word = _TRAIL.sub("", self._peek())
        return word in _PLURALS or (word.endswith("s") and not word.endswith("ss"))

    def _noun_follows(self) -> bool:
        """Whether the next word is a lowercase word that may be what a number counts
        ("1250 employees"), with no punctuation between."""
        following = self._peek()
        bare = _TRAIL.sub("", following)
        return (
            not _TRAIL.search(self.raw[self.i])
            and bare[:1].islower()
            and bare.isalpha()
            and bare not in _AFTER_YEAR
            and not bare.endswith("ed")  # a verb: "1999 changed everything"
        )

    # -- rules --------------------------------------------------------------------------------

    def _url(self, core: str, trail: str):
        if not (_URL.match(core) or (_DOMAIN.match(core) and "@" not in core)):
            return None
        url = re.sub(r"^https?://", "", core, flags=re.IGNORECASE)
        url = re.split(r"[?#]", url, maxsplit=1)[0].rstrip("/")
        host, _, path = url.partition("/")
        spoken = [self._host(host)]
        for segment in filter(None, path.split("/")):
            spoken.append(f"{self.words['slash']} {self._label(segment)}")
        return 1, " ".join(spoken)

    def _host(self, host: str) -> str:
        labels = host.lower().split(".")
        said = []
        for label in labels:
            said.append(self.words["www"] if label == "www" else self._label(label))
        return f" {self.words['dot']} ".join(said)

    def _label(self, label: str) -> str:
        label = re.sub(r"\.(html?|php|aspx?)$", "", label)
        parts = re.split(r"([-_.+])", label)
        names = {"-": "dash", "_": "underscore", ".": "dot", "+": "plus"}
        return " ".join(self.words[names[p]] if p in names else p for p in parts if p)

    def _email(self, core: str, trail: str):
        match = _EMAIL.match(core)
        if not match:
            return None
        user, domain = match.groups()
        return 1, f"{self._label(user)} {self.words['at']} {self._host(domain)}"

    def _currency(self, core: str, trail: str):
        table = _CURRENCIES
        number = _number_pattern(self.language)
        if said := self._money_range(core, trail):
            return said
        if self.es:  # "$1,500", "US$2,000,000" as dollar countries write them (see _money)
            number = rf"\d{{1,3}}(?:,\d{{3}}){{2,}}|{number}"
        match = re.fullmatch(rf"([-\u2212]?)(US\$|[$€£¥])({number}){_MONEY_SUFFIX}?", core)
        if match:
            sign, symbol, amount, suffix = match.groups()
        else:
            match = re.fullmatch(rf"([-\u2212]?)({number}){_MONEY_SUFFIX}?\s*([$€£¥])", core)
            if match:
                sign, amount, suffix, symbol = match.groups()
            elif (
                re.fullmatch(rf"[-\u2212]?(?:{number})", core)
                and self._peek().rstrip(".,;:!?") in table
            ):
                symbol = self._peek().rstrip(".,;:!?")
                return 2, self._money(core, symbol, None, taken_scale=None)
            elif (
                re.fullmatch(rf"[-\u2212]?(?:{number})", core)
                and not trail
                and (split := self._per_unit(self._peek()))
                and split[0] in table
            ):  # "1.200 €/mes": mil doscientos euros por mes
                said = self._money(core, split[0], None, taken_scale=None)
                return 2, f"{said} {split[1]}"
            elif (core in _CODES_FIRST or core in ("$", "€", "£", "¥")) and re.fullmatch(
                rf"[-\u2212]?(?:{number})[.,;:!?]*", self._peek()
            ):  # "USD 2.5 billion", "€ 5 million": the code or a spaced sign before
                amount = _TRAIL.sub("", self._peek()) or self._peek()
                scale_word = _TRAIL.sub("", self._peek(2)).lower()
                if amount == self._peek() and scale_word in _SCALES[self.language]:
                    return 3, self._money(amount, core, scale_word, taken_scale=True)
                return 2, self._money(amount, core, None, taken_scale=None)
            else:
                return None
        amount = ("-" if sign else "") + amount
        scale = _SCALE_SUFFIXES.get(suffix) if suffix else None
        taken = 1
        if self._pesos_follow(symbol, trail):
            return 2, self._money(amount, "$", scale, taken_scale=False, pesos=True)
        following = self._peek().rstrip(".,;:!?").lower()
        if scale is None and not trail and following in _SCALES[self.language]:
            scale, taken = following, 2
        said = self._money(amount, symbol, scale, taken_scale=taken == 2)
        return taken, self._money_before_noun(said, symbol, taken, trail)

    def _money_before_noun(self, said: str, symbol: str, taken: int, trail: str) -> str:
        """ "a $20 bill", "a $1.5 billion deal": an amount that qualifies a noun after "a" is
        said in the singular, as a unit is ("a 5 kg bag"): a twenty dollar bill."""
        if (
            self.es
            or self._previous_word() not in ("a", "an")
            or _TRAIL.search(self.raw[self.i + taken - 1])
        ):
            return said
        noun = self._peek(taken)
        bare = _TRAIL.sub("", noun)
        if not (bare.isalpha() and bare.islower()) or bare in _NOT_QUALIFIED:
            return said
        unit, units = _CURRENCIES[symbol][0][:2]
        if said.endswith(f" {units}") and " and " not in said:
            return said[: -len(units)] + unit
        return said

    def _money_range(self, core: str, trail: str) -> tuple[int, str] | None:
        """ "$5-10", "$5-$10", "€10-20" (or an en dash), "10-20 €", "10-20 USD": five to ten
        dollars."""
        number = _number_pattern(self.language)
        symbols = r"US\$|[$€£¥]"
        taken = 1
        scale = None
        match = re.fullmatch(
            rf"({symbols})({number})[-\u2013](?:{symbols})?({number}){_MONEY_SUFFIX}?", core
        )
        if match:
            symbol, first, second, suffix = match.groups()
            scale = _SCALE_SUFFIXES.get(suffix) if suffix else None
        elif match := re.fullmatch(rf"({number})[-\u2013]({number})\s*([€$£¥])", core):
            first, second, symbol = match.groups()
        elif (
            (match := re.fullmatch(rf"({number})[-\u2013]({number})", core))
            and not trail
            and (symbol := _TRAIL.sub("", self._peek())) in _CURRENCIES
        ):
            (first, second), taken = match.groups(), 2
        else:
            return None
        parsed = self._parse(first)
        if parsed is None or self._parse(second) is None:
            return None
        gender = _CURRENCIES[symbol][2] if self.es else "m"
        if scale is not None:  # "$5-10M", "$1.5-2B": five to ten million dollars
            if pesos := self._pesos_follow(symbol, trail):
                taken = 2
            said_first = self._number_words(*parsed)
            said_second = self._money(second, symbol, scale, taken_scale=False, pesos=pesos)
            return taken, f"{said_first} {self.words['to']} {said_second}"
        if parsed[1]:  # "$5.50-10": five dollars and fifty cents to ten dollars
            said_first = self._money(first, symbol, None, taken_scale=False)
        else:
            said_first = cardinal(parsed[0], self.language, gender=gender)
        said_second = self._money(second, symbol, None, taken_scale=False)
        return taken, f"{said_first} {self.words['to']} {said_second}"

    def _pesos_follow(self, symbol: str, trail: str) -> bool:
        """Whether "pesos" or a peso's code follows an amount in dollars' sign ("$1,500
        pesos", "$17,50 MXN"): pesos, the word taken with it (and its punctuation kept)."""
        if symbol != "$" or trail or _TRAIL.sub("", self._peek()) not in _PESOS:
            return False
        self._ending = self._tail(2)
        return True

    def _money(
        self, amount: str, symbol: str, scale: str | None, *, taken_scale, pesos: bool = False
    ) -> str:
        en, es, gender = _CURRENCIES["MXN" if pesos else symbol]
        unit, units, sub, subs = es if self.es else en
        if self.es and symbol in ("$", "US$") and re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", amount):
            # Dollar countries (México, Argentina, ...) write "$1,500" for mil quinientos:
            # a comma before exactly three digits there groups thousands.
            amount = amount.replace(",", "")
        gender = gender if self.es else "m"
        parsed = self._parse(amount)
        if parsed is None:
            return amount
        whole, frac = parsed
        if scale is not None:
            if self.es:
                scale_word = _SCALE_WORDS_ES.get(scale, scale)
                said = self._number_words(whole, frac, gender="m")
                if whole == 1 and not frac and scale_word == "millones":
                    scale_word = "millón"
                de = "" if scale_word == "mil" else " de"  # cinco mil dólares, un millón de
                return f"{said} {scale_word}{de} {units}"
            return f"{self._number_words(whole, frac)} {scale} {units}"
        cents = None
        if frac and len(frac) <= 2 and sub:
            cents = integer(frac.ljust(2, "0"))
            frac = ""
        if frac:
            return f"{self._number_words(whole, frac)} {units}"
        parts = []
        if whole or not cents:
            count = cardinal(whole, self.language, gender=gender, before_noun=True)
            if self.es and whole and not whole % 10**6:
                count += " de"  # "dos millones de dólares"
            parts.append(f"{count} {unit if abs(whole) == 1 else units}")
        if cents:
            count = cardinal(cents, self.language, gender="m", before_noun=True)
            parts.append(f"{count} {sub if cents == 1 else subs}")
        joiner = " con " if self.es else " and "
        said = joiner.join(parts)
        if isinstance(whole, _MinusZero):  # "-$0.50": minus fifty cents
            said = f"{self.words['minus']} {said}"
        return said

    def _percent(self, core: str, trail: str):
        if core.endswith("%"):
            if re.fullmatch(r"[^%]+%[-\u2013][^%]+%", core):  # "10%-20%": ten to twenty percent
                core = core.replace("%", "", 1)
            words = self._as_number(core[:-1])
            if words is None and (span := self._range(core[:-1], "%")) is not None:
                words = span[1]  # "10-15%"
            if words is not None:
                return 1, f"{words} {self.words['percent']}"
            return None
        if self._peek().rstrip(".,;:!?") == "%" and (words := self._as_number(core)) is not None:
            return 2, f"{words} {self.words['percent']}"
        return None

    def _military(self, core: str, trail: str):
        """ "0800 hours", "0930 hrs", "at 1430 hours": English military time, oh eight
        hundred hours, fourteen thirty hours. A time from ten o'clock on is one only after a
        word that leads to a time ("at", "until"): "over 2000 hours of video" is a count."""
        if self.es or trail or not re.fullmatch(r"\d{4}", core):
            return None
        if _TRAIL.sub("", self._peek()) not in ("hours", "hrs"):
            return None
        hour, minute = integer(core[:2]), integer(core[2:])
        if hour > 23 or minute > 59:
            return None
        if hour >= 10 and self._previous_word() not in _AT_CLOCK | {"before", "after", "since"}:
            return None
        said = cardinal(hour) if hour >= 10 else "zero" if hour == 0 else f"oh {cardinal(hour)}"
        if not minute:
            said += " hundred"
        else:
            said += f" oh {cardinal(minute)}" if minute < 10 else f" {cardinal(minute)}"
        return 2, f"{said} hours"

    def _verse(self, core: str, trail: str):
        """ "John 3:16", "Psalm 23:1-4": a chapter and its verses, after a book of the Bible
        (and "1 Cor." before one: First Corinthians)."""
        book = self._peek()
        if (
            core in ("1", "2", "3")
            and not self.es
            and (book in _BIBLE_BOOKS or book in _BIBLE_ABBREVIATIONS)
            and _VERSE.match(_TRAIL.sub("", self._peek(2)))
        ):  # "1 Cor. 13:4": First Corinthians
            return 1, ("First", "Second", "Third")[integer(core) - 1]
        match = _VERSE.match(core)
        before = self.raw[self.i - 1] if self.i else ""
        if not match or (before not in _BIBLE_BOOKS and before not in _BIBLE_ABBREVIATIONS):
            return None
        chapter, verse, last = match.groups()
        following = self._peek().lower().rstrip(",;:!?.").replace(".", "")
        if verse.startswith("0") or following in ("am", "pm", "-", "\u2013", "to", "h"):
            return None  # "James 10:00", "Mark 3:15 pm", "Daniel 9:30 - 10:30": times
        said_chapter, said_verse, said_verses = _VERSE_WORDS[self.language]
        said = f"{said_chapter} {self._plain(chapter)}, "
        if last:
            return 1, said + f"{said_verses} {self._plain(verse)} {self.words['to']} " + (
                self._plain(last)
            )
        return 1, said + f"{said_verse} {self._plain(verse)}"

    def _time(self, core: str, trail: str):
        previous = self.raw[self.i - 1].rstrip(",") if self.i else ""
        meridiem = self._peek().lower().rstrip(",;:!?.").replace(".", "") in ("am", "pm")
        # "at 0:30", "00:05, 0:30", "0:30 a.m.": the clock.
        clock = self._previous_word() in _AT_CLOCK or _TIME.match(previous) or meridiem
        if re.fullmatch(r"0:\d{2}:\d{2}", core) or (re.fullmatch(r"0:\d{2}", core) and not clock):
            # A length or a video's time ("0:45 long", "finished in 0:59", "at 0:00:30 the
            # video starts"): seconds and minutes. "00:05" and "at 0:30" are the clock.
            return self._length(core)
        if (seconds := _SECONDS_TIME.match(core)) and self._previous_word() in _DURATION_CONTEXT:
            return self._duration(*(integer(g) for g in seconds.groups()))
        if seconds:  # "14:30:15": fourteen thirty and fifteen seconds
            hour, minute, second = (integer(g) for g in seconds.groups())
            if hour > 24 or minute > 59 or second > 59:
                return None
            said = self._clock(hour, minute, "")
            if second:
                unit = ("segundo" if self.es else "second") + ("" if second == 1 else "s")
                count = cardinal(second, self.language, before_noun=True)
                said += f" {self.words['and']} {count} {unit}"
            return 1, said
        match = _TIME.match(core) or _HOUR_AMPM.match(core)
        if match is None and self.es and self._spanish_dotted_time(core):
            return self._time(core.replace(".", ":"), trail)  # "a las 20.45 h"
        dotted = _DOT_TIME.match(core) if match is None and not self.es else None
        if dotted is not None:
            following = self._peek().lower().rstrip(",;:!?.")
            if dotted.group(3) or following in ("am", "pm", "a.m", "p.m"):
                match = dotted
        bare_hour = match is None and re.fullmatch(r"\d{1,2}", core) is not None
        if not (match or bare_hour):
            return None
        groups = match.groups() if match else (core, None)
        hour = integer(groups[0])
        minute = integer(groups[1]) if len(groups) == 3 and groups[1] else 0
        meridiem = (groups[-1] or "").lower().replace(".", "") if match else ""
        taken = 1
        if not meridiem and not trail:
            following = self._peek().lower()
            if following.rstrip(",;:!?.") in ("am", "pm", "a.m", "p.m"):
                meridiem, taken = following.rstrip(",;:!?.").replace(".", ""), 2
            elif self.es and following in ("a.", "p.") and self._peek(2).startswith("m."):
                meridiem, taken = following[0] + "m", 3
            if taken > 1:
                self._ending = self._meridiem_end(self.raw[self.i + taken - 1], taken)
        if (bare_hour and not meridiem) or hour > 24 or minute > 59:
            return None
        if self.es and not meridiem and not trail and _TRAIL.sub("", self._peek()) == "h":
            # "a las 20:00 h": las veinte horas; "15:30 h": quince y treinta (the h said once)
            self._ending = self._tail(2)
            if minute == 0:
                return 2, f"{cardinal(hour, 'es', gender='f')} horas"
            return 2, self._clock(hour, minute, "")
        return taken, self._clock(hour, minute, meridiem)

    def _ratio(self, core: str, trail: str):
        """ "3:1", "16:9", "1:50,000": a ratio (no time: its minutes are not two digits)."""
        match = re.fullmatch(r"(\d{1,3}):(\d|\d{3,}|\d{1,3}(?:[,.]\d{3})+)", core)
        if match is None or self._parse(match.group(2)) is None:
            return None
        first, second = match.groups()
        return 1, f"{self._plain(first)} {self.words['to']} {self._as_number(second)}"

    def _plus_after(self, core: str, trail: str):
        """ "18+", "300+ pages", "1,000+": a number and more, plus."""
        if not core.endswith("+") or (said := self._as_number(core[:-1])) is None:
            return None
        return 1, f"{said} {self.words['plus']}"

    def _time_range(self, core: str, trail: str):
        """ "9am-5pm", "3-5pm", "9:00-17:00", "10:30am\u20132 p.m.": two times, "to" between
        (the first's meridiem, if it has none, is the second's: said once, at the end)."""
        match = re.fullmatch(r"(\d{1,2}(?::\d{2})?(?:[ap]\.?m\.?)?)[-\u2013](.+)", core, re.I)
        if not match:
            return None
        first, second = match.groups()
        ends = _TIME.match(second) or _HOUR_AMPM.match(second)
        starts = _TIME.match(first) or _HOUR_AMPM.match(first)
        taken, meridiem = 1, (ends.groups()[-1] or "").lower().replace(".", "") if ends else ""
        following = self._peek().lower().rstrip(",;:!?.").replace(".", "")
        if not meridiem and not trail and following in ("am", "pm"):
            meridiem, taken = following, 2  # "9-11 a.m.": its meridiem is its own word
        if ends is None and meridiem and second.isdecimal():
            ends = re.match(r"(\d{1,2})()$", second)
        if ends is None or not (starts or (meridiem and first.isdecimal())):
            return None  # "3-5" is a range of numbers; "3-5pm" of hours
        if taken == 2:
            self._ending = self._meridiem_end(self.raw[self.i + 1], 2)
        said = []
        for time, match in ((first, starts), (second, ends)):
            groups = match.groups() if match else (time, None)
            hour = integer(groups[0])
            minute = integer(groups[1]) if len(groups) == 3 and groups[1] else 0
            own = (groups[-1] or "").lower().replace(".", "") if match else ""
            if hour > 24 or minute > 59:
                return None
            if time is second:
                own = own or meridiem
            if minute == 0 and not own and (hour <= 12 or self.es):
                said.append(cardinal(hour, self.language, gender="f"))  # "nine to five"
            else:
                said.append(self._clock(hour, minute, own))
        return taken, f" {self.words['to']} ".join(said)

    def _version(self, core: str, trail: str):
        """ "v2.1.3", "Python 3.12", "2.1.3": a version, each part a number ("version two
        point one point three", "three point twelve"); "192.168.1.1": an IP address, its
        parts joined by "dot". Not "3.12" elsewhere (a decimal: three point one two), nor
        numbers grouped by threes ("1.234.567", Spanish thousands)."""
        match = _VERSION.match(core)
        if match is None:
            return None
        prefix, number = match.groups()
        parts = number.split(".")
        if not prefix and all(len(p) == 3 for p in parts[1:]):
            return None
        previous = self.raw[self.i - 1] if self.i else ""
        if not prefix and len(parts) == 2 and _VERSIONED.isdisjoint((previous, previous.lower())):
            return None
        said = [self._version_part(p) for p in parts]
        if len(parts) == 4 and not prefix:
            if any(integer(p) > 255 for p in parts):
                return None
            return 1, f" {self.words['dot']} ".join(said)  # an IP address
        joined = (" punto " if self.es else " point ").join(said)
        return 1, ("versión " if self.es else "version ") + joined if prefix else joined

    def _version_part(self, part: str) -> str:
        """A part of a version: a number ("12": twelve), its digits if it starts with 0."""
        if len(part) > 1 and part.startswith("0"):
            return digits(part, self.language)
        return cardinal(integer(part), self.language)

    def _duration(self, hours: int, minutes: int, seconds: int):
        """A time taken ("in 2:05:30"): two hours, five minutes and thirty seconds; only
        the parts that are not zero, or "zero seconds"."""
        if minutes > 59 or seconds > 59:
            return None
        names = (("hour", "hora"), ("minute", "minuto"), ("second", "segundo"))
        said = [
            f"{cardinal(n, self.language, before_noun=True)} {name[self.es]}{'' if n == 1 else 's'}"
            for n, name in zip((hours, minutes, seconds), names, strict=True)
            if n
        ]
        if not said:
            return 1, f"{cardinal(0, self.language)} {names[-1][self.es]}s"
        if len(said) == 1:
            return 1, said[0]
        return 1, ", ".join(said[:-1]) + f" {self.words['and']} {said[-1]}"

    def _length(self, core: str):
        """ "0:45" (M:SS), "0:58:12" (H:MM:SS): a length, as _duration says it."""
        fields = [integer(f) for f in core.split(":")]
        return self._duration(*([0] * (3 - len(fields)) + fields))

    def _meridiem_end(self, word: str, taken: int) -> str:
        """What follows "a.m." / "p. m.": its own dot is no full stop unless a sentence
        ends there (nothing follows, or a capital does)."""
        punctuation = word[len(word.rstrip(".,;:!?")) :]
        following = _TRAIL.sub("", _LEAD.sub("", self._peek(taken)))
        sentence_end = not following or (
            following[:1].isupper()
            # "5 p.m. Tuesday", "9 a.m. March 3", "5 p.m. EST": the time goes on.
            and following not in _WEEKDAYS[self.language]
            and following not in _MONTHS[self.language]
            and not (following.isupper() and len(following) > 1)
        )
        return punctuation.replace(".", "") + ("." if sentence_end else "")

    def _meridiem_range(self, core: str, trail: str):
        """ "10 a.m.-6 p.m." (an en dash too), "9 a.m.-noon", as AP style writes opening
        hours (the dash against the meridiem, which no other rule took): ten A.M to six P.M."""
        if self.es or trail or not (start := re.fullmatch(r"(\d{1,2})(?::(\d{2}))?", core)):
            return None
        ahead = re.fullmatch(
            r"([ap])\.?m\.?[-\u2013](?:(\d{1,2})(?::(\d{2}))?|(noon|midnight))(\W*)",
            self._peek(),
            re.IGNORECASE,
        )
        if ahead is None:
            return None
        first_meridiem, hour, minute, word, rest = ahead.groups()
        first = self._clock(integer(start.group(1)), integer(start.group(2) or "0"),
                            f"{first_meridiem.lower()}m")  # fmt: skip
        if word:
            self._ending = rest
            return 2, f"{first} {self.words['to']} {word.lower()}"
        meridiem = _TRAIL.sub("", self._peek(2)).lower().replace(".", "")
        if rest or meridiem not in ("am", "pm"):
            return None
        self._ending = self._meridiem_end(self.raw[self.i + 2], 3)
        second = self._clock(integer(hour), integer(minute or "0"), meridiem)
        return 3, f"{first} {self.words['to']} {second}"

    def _day_to_month(self, core: str, trail: str):
        """ "Jan. 5-Feb. 10", "March 3-April 5" (an en dash too): days across two months, the
        dash against the second month's name: January fifth to February tenth."""
        match = re.fullmatch(r"(\d{1,2})[-\u2013]([A-Z][a-z]{2,8})\.?", core)
        if self.es or match is None or trail.strip(".") or not 1 <= integer(match.group(1)) <= 31:
            return None
        before = self.raw[self.i - 1].rstrip(".") if self.i else ""
        month = _MONTH_ABBREVIATIONS["en"].get(match.group(2))
        month = month or (
            _MONTHS["en"].index(match.group(2)) + 1 if match.group(2) in _MONTHS["en"] else 0
        )
        day = _TRAIL.sub("", self._peek())
        if not month or not re.fullmatch(r"\d{1,2}", day) or not 1 <= integer(day) <= 31:
            return None
        if before not in _MONTHS["en"] and before not in _MONTH_ABBREVIATIONS["en"]:
            return None
        second = f"{_MONTHS['en'][month - 1]} {ordinal(integer(day))}"
        return 2, f"{ordinal(integer(match.group(1)))} {self.words['to']} {second}"

    def _clock(self, hour: int, minute: int, meridiem: str) -> str:
        """A time as said: "three thirty P.M", "fifteen hundred"; the hour 0 as twelve at
        night ("00:05": twelve oh five A.M, Spanish doce y cinco de la noche), as people say
        it ("zero oh five" was no reading)."""
        if self.es:
            night = hour == 0 and not meridiem
            said = cardinal(12 if night else hour, "es", gender="f")
            if minute == 0:
                said += " en punto" if not (meridiem or night) else ""
            else:
                said += f" y {cardinal(minute, 'es')}"
            if night:
                return said + " de la noche"
            return said + (f" {_AMPM_ES[meridiem]}" if meridiem else "")
        if hour == 0:  # "00:05", "0:30 a.m.": twelve
            hour, meridiem = 12, meridiem or "am"
        said = cardinal(hour, "en")
        if minute == 0:
            if meridiem:
                pass
            elif hour > 12 or hour == 0:
                said += " hundred"
            else:
                said += " o'clock"
        elif minute < 10:
            said += f" oh {cardinal(minute, 'en')}"
        else:
            said += f" {cardinal(minute, 'en')}"
        return said + (f" {_AMPM[meridiem]}" if meridiem else "")

    def _date(self, core: str, trail: str):
        match = _ISO_DATE.match(core)
        if match:
            y, m, d = (integer(g) for g in match.groups())
        else:
            match = _SLASH_DATE.match(core)
            if not match:
                return None
            a, sep, b, y_text = match.groups()
            a, b, y = integer(a), integer(b), integer(y_text)
            if len(y_text) == 2:
                y += 2000 if y < 50 else 1900
            day_first = self.es or sep == "."
            if (day_first and b > 12) or (not day_first and a > 12):
                day_first = not day_first
            d, m = (a, b) if day_first else (b, a)
        if not (1 <= m <= 12 and 1 <= d <= 31):
            return None
        month = _MONTHS[self.language][m - 1]
        if self.es:
            return 1, f"{cardinal(d, 'es')} de {month} de {year(y, 'es')}"
        return 1, f"{month} {ordinal(d)}, {year(y)}"

    def _spanish_dotted_time(self, core: str) -> bool:
        """Whether "20.45" is a time as Spanish papers write it ("a las 20.45", "20.45 h", "de
        9.30 a 14.00 h"): Spanish writes a decimal with a comma, and thousands with three
        digits after the dot, so two digits after it after "las" or before "h" are minutes."""
        match = re.fullmatch(r"(\d{1,2})\.(\d{2})", core)
        if not match or integer(match.group(1)) > 23 or integer(match.group(2)) > 59:
            return False
        hours = ("h", "h.", "horas", "hrs", "hrs.")
        following = self._peek().rstrip(",;:")
        if following in hours:
            return True
        if self._previous_word() in ("las", "la"):
            money = _TRAIL.sub("", following)
            return money not in _CURRENCIES and money not in _MONEY_WORDS_ES
        return (  # "de 9.30 a 14.00 h"
            self._peek() in ("a", "y", "hasta")
            and re.fullmatch(r"\d{1,2}\.\d{2}", self._peek(2)) is not None
            and self._peek(3).rstrip(",;:") in hours
        )

    def _day_and_month(self, core: str, trail: str):
        """ "on 3/4", "until 6/15", "el pasado 14/02": a month and its day without a year
        (month first in English, day first in Spanish) after a word that leads to a date;
        elsewhere, or before "of"/"de", a fraction ("3/4 of the votes")."""
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})", core)
        leads = self._previous_word() in _BEFORE_DATE[self.language] or (
            # the second of two: "from 6/1 to 6/3", "del 1/5 al 30/6"
            self._previous_word() in (*_RANGE_WORDS, "-", "\u2013", "a", "al", "y")
            and self.i >= 3
            and re.fullmatch(r"\d{1,2}/\d{1,2}", self.raw[self.i - 2]) is not None
            and self._previous_word(3) in _BEFORE_DATE[self.language]
        )
        if not match or not leads:
            return None
        following = _TRAIL.sub("", self._peek())
        if core == "9/11" and not self.es:
            return 1, "nine eleven"  # the attacks: "on 9/11"
        if not trail and (
            following.lower() in ("of", "de", "del")
            # a lowercase word that is no sentence's next ("on 1/2 power", "on 3/4 speed")
            or (following.isalpha() and following.islower() and following not in _AFTER_DATE)
        ):
            return None
        a, b = integer(match.group(1)), integer(match.group(2))
        d, m = (a, b) if self.es else (b, a)
        if not (1 <= m <= 12 and 1 <= d <= 31):
            return None
        month = _MONTHS[self.language][m - 1]
        if self.es:
            return 1, f"{cardinal(d, 'es')} de {month}"
        return 1, f"{month} {ordinal(d)}"

    def _ordinal(self, core: str, trail: str):
        if self.es:
            match = _ORDINAL_ES.match(core)
            if not match:
                return None
            n, suffix = integer(match.group(1)), match.group(2)
            gender = "f" if suffix in ("ª", "a", "era", "ra", "da", "ta", "va", "na") else "m"
            # "el 21.º puesto": vigésimo primer puesto (before its noun, as "3er piso").
            before_noun = suffix == "er" or (not trail and self._noun_after() is not None)
            return 1, ordinal(n, "es", gender=gender, before_noun=before_noun)
        match = _ORDINAL_EN.match(core)
        if not match:
            return None
        n = integer(match.group(1).replace(",", ""))  # "1,000th" too
        if not trail and n <= 31 and _TRAIL.sub("", self._peek()) in _MONTHS["en"]:
            # "12th March 1888", as British letters and diaries date: "the twelfth of
            # March", as "12 March" is (_month_day), not "twelfth March".
            return 1, self._day_before_month(n)
        return 1, ordinal(n)

    def _phone(self, core: str, trail: str):
        match = _PHONE.match(core)
        if match:
            country, area, exchange, line = match.groups()
            said = ", ".join(
                [self._area(area.strip("()"))]
                + [digits(g, self.language) for g in (exchange, line)]
            )
            if country:
                plus = f"{self.words['plus']} " if country.startswith("+") else ""
                said = f"{plus}{digits(country, self.language)}, {said}"
            return 1, said
        if (country := _COUNTRY_CODE.match(core)) and not trail:
            groups, taken = [], 1
            while (
                taken <= 5
                and (following := self._peek(taken))
                and _DIGIT_GROUPS.match(_TRAIL.sub("", following))
            ):
                groups += re.findall(r"\d+", following)
                taken += 1
                end = _TRAIL.search(following)
                if end and not (following.startswith("(") and end.group(0) == ")"):
                    break  # punctuation ends the number; an area code's "(555)" does not
            if len(groups) >= 2 and sum(len(g) for g in groups) >= 6:
                said = ", ".join(digits(g, self.language) for g in [country.group(1), *groups])
                return taken, f"{self.words['plus']} {said}"
        if core in _EMERGENCY and {self._previous_word(), self._previous_word(2)} & _DIALING:
            return 1, digits(core, self.language)
        area = _AREA.match(self.raw[self.i])
        following = _TRAIL.sub("", self._peek())
        if area and _SHORT_PHONE.match(following):
            groups = _SHORT_PHONE.match(following).groups()
            self._ending = self._tail(2)
            return 2, ", ".join(
                [self._area(area.group(1))] + [digits(g, self.language) for g in groups]
            )
        match = _SHORT_PHONE.match(core)
        if match:
            return 1, ", ".join(digits(g, self.language) for g in match.groups())
        return None

    def _area(self, area: str) -> str:
        """An area code: digit by digit, but a toll-free "800" (any "X00") in
        English is "eight hundred" (1-800-555-1234, (800) 555-1234)."""
        if area.endswith("00") and not self.es:
            return cardinal(integer(area))
        return digits(area, self.language)

    def _decade(self, core: str, trail: str):
        if self.es:
            return None
        if (many := _MANY.get(core.replace(",", ""))) and self._peek() == "of":
            return 1, many  # "100s of people": hundreds (not a hundred seconds)
        decades = re.split(r"[-\u2013]", core)
        if len(decades) == 2 and all(_DECADE.match(d) for d in decades):
            first, second = (_decade_said(_DECADE.match(d)) for d in decades)
            return 1, f"{first} {self.words['to']} {second}"  # "1960s-70s": sixties to seventies
        match = _DECADE.match(core)
        return (1, _decade_said(match)) if match else None

    def _fraction(self, core: str, trail: str):
        match = _FRACTION.match(core)
        if core in _VULGAR_FRACTIONS:
            n, d = _VULGAR_FRACTIONS[core]
        elif not match:
            return None
        else:
            n, d = integer(match.group(1)), integer(match.group(2))
        unit = _TRAIL.sub("", self._peek())
        if unit == "mmHg" and not trail:  # "120/80 mmHg": a blood pressure, one twenty over
            self._unit_stop(2)
            over = "sobre" if self.es else "over"
            return 2, f"{cardinal(n, self.language)} {over} {self._quantity(str(d), unit, 2)}"
        if unit in _UNITS and not trail and n < d:  # "1/4 tsp": one quarter teaspoon
            self._unit_stop(2)
            en, es, gender = _UNITS[unit]
            if self.es and (n, d) == (1, 2):  # "1/2 cdta": media cucharadita
                return 2, f"{'media' if gender == 'f' else 'medio'} {es[0]}"
            said = self._fraction(core, ",")[1]
            return 2, f"{said} de {es[0]}" if self.es else f"{said} {en[0]}"
        if self.es and match and 1900 <= d <= 2099 and len(match.group(2)) == 4:
            # A law's number and year ("Ley 39/2015", "Real Decreto 463/2020"): barra
            return 1, f"{cardinal(n, 'es')} {self.words['slash']} {year(d, 'es')}"
        # Only a fraction under one is "of" what follows ("2/3 partes": dos tercios de).
        noun = self._noun_after() if self.es and not trail and n < d else None
        if noun and (n, d) == (1, 2):  # "1/2 taza": media taza, "medio kilo"
            return 1, "media" if _es_gender(noun) == "f" else "medio"
        if noun and _TRAIL.sub("", noun).lower() != "de":
            # "2/3 partes": dos tercios de partes ("de" as in "un cuarto de taza")
            said = self._fraction(core, ", ")
            return said[0], f"{said[1]} de"
        if match and d in (5, 10, 20, 100) and n <= d and self._scores():
            out_of = _OUT_OF[self.language]
            return 1, f"{cardinal(n, self.language)} {out_of} {cardinal(d, self.language)}"
        if (n, d) in _FRACTIONS[self.language]:
            return 1, _FRACTIONS[self.language][(n, d)]
        if 0 < n < d <= 10:
            if self.es:
                name = _ES_FRACTION_NAMES[d]
                return 1, f"un {name}" if n == 1 else f"{cardinal(n, 'es')} {name}s"
            name = ordinal(d)
            return 1, f"{cardinal(n)} {name}" + ("s" if n > 1 else "")
        return 1, f"{cardinal(n, self.language)} {cardinal(d, self.language)}"

    def _scores(self) -> bool:
        """Whether a number over 5, 10, 20 or 100 here is a score ("scored 95/100", "rated
        4/5 stars"): after a word that gives one, or before stars or points."""
        return self._previous_word() in _SCORING or _TRAIL.sub("", self._peek()) in _SCORED

    def _range(self, core: str, trail: str):
        number = _number_pattern(self.language)
        match = re.fullmatch(rf"({number})[-\u2013\u2014]({number})(K|M|B|bn)?", core)
        twice = re.fullmatch(rf"({number})\s*({_UNIT_PATTERN})([-\u2013](?:{number})\s*\2)", core)
        if twice:  # "70°F-80°F": the unit said once, after the range
            core = twice.group(1) + twice.group(3)
        unit = re.fullmatch(rf"({number})[-\u2013]((?:{number})\s*(?:{_UNIT_PATTERN}))", core)
        if unit:  # "10-15kg", "60-75°F": ten to fifteen kilograms
            said = self._number_and_unit(unit.group(2), ",")
            if said is not None and self._parse(unit.group(1)) is not None:
                return 1, f"{self._plain(unit.group(1))} {self.words['to']} {said[1]}"
        if not match:
            return None
        first, second, suffix = match.groups()
        if first == second == "50" and not suffix and not self.es:
            return 1, "fifty-fifty"  # "a 50-50 chance": even odds, not a range
        if self.es and self._previous_word() in ("el", "un") and re.fullmatch(r"\d{1,2}", first):
            # a score ("el 1-1 final", "un 2-0"): uno a uno, whatever noun follows
            return 1, f"{cardinal(integer(first), 'es')} a {cardinal(integer(second), 'es')}"
        before = self.raw[self.i - 1].lower() if self.i else ""
        if before in _BEFORE_IDENTIFIER and not suffix:
            # "No. 22-1234", "case 3-12": an identifier's parts, not a range
            parts = (year(integer(x), self.language) if re.fullmatch(r"[1-9]\d{3}", x)
                     else self._plain(x)
                     for x in (first, second))  # fmt: skip
            return 1, ", ".join(parts)
        said_first, said_second = self._plain(first), self._plain(second)
        if suffix:  # "5-10K users": five to ten thousand; "a 5-10K range": five to ten K
            counts = not trail and _TRAIL.sub("", self._peek()) in _SCALED_COUNTS and not self.es
            return 1, f"{said_first} {self.words['to']} {said_second} " + (
                _SCALE_SUFFIXES[suffix] if counts else suffix
            )
        if re.fullmatch(r"\d{4}", first) and re.fullmatch(r"\d{4}", second) and not self.es:
            said_first, said_second = year(integer(first)), year(integer(second))
        elif (
            re.fullmatch(r"\d{4}", first)
            and re.fullmatch(r"\d{2}", second)
            and 1000 <= integer(first) <= 2999
            and integer(second) > integer(first) % 100
        ):  # "2023-24 season": twenty twenty-three to twenty-four
            said_first = year(integer(first), self.language)
            said_second = cardinal(integer(second), self.language)
        said = f"{said_first} {self.words['to']} {said_second}"
        unit = self._unit_after(self._parse(second)[0], bool(self._parse(second)[1]))
        if unit and not trail:
            return 2, f"{said} {unit}"
        return 1, said

    def _mixed_number(self, core: str, trail: str):
        """ "2 1/2 cups", "1½ cups": two and a half, one and a half (then a unit, if one)."""
        match = re.fullmatch(r"(\d{1,6})([½⅓⅔¼¾])", core)
        taken, compound = 1, ""
        if match:
            whole, fraction = match.groups()
        elif (
            re.fullmatch(r"\d{1,6}", core)
            and not trail
            and (
                joined := re.fullmatch(
                    r"(\d{1,4}/\d{1,4})-([^\W\d_]+(?:-[^\W\d_]+)*)", _TRAIL.sub("", self._peek())
                )
            )
            and _is_proper(joined.group(1))
        ):  # "2 1/2-year-old": two and a half year old
            whole, taken = core, 2
            fraction, compound = joined.group(1), joined.group(2).replace("-", " ")
        elif (
            re.fullmatch(r"\d{1,6}", core)
            and not trail
            and (
                (fraction := _TRAIL.sub("", self._peek())) in _VULGAR_FRACTIONS
                or (_FRACTION.match(fraction) and _is_proper(fraction))
            )
        ):
            whole, taken = core, 2
        else:
            return None
        n, d = _VULGAR_FRACTIONS.get(fraction) or tuple(integer(x) for x in fraction.split("/"))
        last = self._peek(taken)
        if self.es and (n, d) == (1, 2):  # "2 1/2 tazas": dos y media tazas
            noun = _TRAIL.sub("", last)
            part = "media" if noun[:1].isalpha() and _es_gender(noun) == "f" else "medio"
            if noun in _UNITS:
                part = "media" if _UNITS[noun][2] == "f" else "medio"
        elif not self.es and (n, d) in ((1, 2), (1, 4)):
            part = {(1, 2): "a half", (1, 4): "a quarter"}[(n, d)]
        else:  # "three quarters", "one third", "siete octavos"
            part = self._fraction(f"{n}/{d}", ",")[1]
        said = f"{cardinal(integer(whole), self.language)} {self.words['and']} {part}"
        if compound:
            return taken, f"{said} {compound}"
        unit = _TRAIL.sub("", last)
        if unit in _UNITS and not _TRAIL.search(self.raw[self.i + taken - 1]):
            en, es, _ = _UNITS[unit]
            return taken + 1, f"{said} {(es if self.es else en)[1]}"
        return taken, said

    def _times(self, core: str, trail: str):
        """ "1.5x", "20x earnings": times; "4x4", "9x13", and "x" between numbers: by (but
        times before a power of ten: "2.3 x 10^-4")."""
        if core == "x" and self._between_numbers():
            if _POWER_OF_TEN.fullmatch(_TRAIL.sub("", self._peek())):
                return 1, _MULTIPLIER_WORD[self.language]
            return 1, _BY[self.language]
        if (lines := re.fullmatch(r"(\d{3,4})([pi])", core)) and not self.es:
            # "1080p", "720p", "1080i": a video's lines, ten eighty P, seven twenty P
            return 1, f"{_paired(lines.group(1))} {lines.group(2).upper()}"
        match = re.fullmatch(r"([1-9][\d.,]*|0[.,]\d+)[x\u00d7](\d[\d.,]*)?", core)
        if match is None or self._parse(match.group(1)) is None:
            return None
        first, second = match.groups()
        if second is None:
            return 1, f"{self._plain(first)} {_MULTIPLIER[self.language]}"
        if self._parse(second) is None:
            return None
        if not self.es and re.fullmatch(r"\d{3,4}", first) and re.fullmatch(r"\d{3,4}", second):
            # a screen's pixels: "1920x1080", nineteen twenty by ten eighty
            return 1, f"{_paired(first)} {_BY['en']} {_paired(second)}"
        return 1, f"{self._plain(first)} {_BY[self.language]} {self._plain(second)}"

    def _said_whole(self, core: str, trail: str):
        """ "YoY", "y/y", "P/E", "FTSE", "C#", "IPv6"; "the WHO": W.H.O."""
        if said := _SAID_WHOLE[self.language].get(core):
            return 1, said
        if core == "WHO" and self.raw[self.i - 1] in ("the", "The") and not self._peek().isupper():
            return 1, "W.H.O"  # "the WHO said"; not "THE WHO played", a text in capitals
        return None

    def _code_number(self, core: str, trail: str):
        """A number that names, said as people say it: a ZIP code after a state's code digit
        by digit ("Washington, DC 20500"), a status code in pairs ("a 404 error", "HTTP
        503"), a model's number after letters in capitals ("RTX 4090": forty ninety, "GTX
        1080"), "401(k)" four oh one K."""
        if self.es:
            return None
        if re.fullmatch(r"\d{3}\([kb]", core) and trail.startswith(")"):
            self._ending = trail[1:]  # the parenthesis is the name's
            return 1, f"{_paired(core[:3])} {core[-1].upper()}"
        before = self.raw[self.i - 1] if self.i else ""
        city = self.raw[self.i - 2] if self.i >= 2 else ""
        if (
            re.fullmatch(r"\d{5}(?:-\d{4})?", core)
            and before.rstrip(",") in _STATE_CODES
            and city.endswith(",")  # "Springfield, IL 62704"; not "IN 15000 HOMES"
        ):
            return 1, ", ".join(digits(part, "en") for part in core.split("-"))
        if not re.fullmatch(r"\d{3,4}", core):
            return None
        following = _TRAIL.sub("", self._peek())
        article = self._previous_word() in ("a", "an", "the")
        if re.fullmatch(r"[45]\d\d", core) and (
            (not trail and following in _STATUS_WORDS and article) or before in ("HTTP", "status")
        ):  # "a 404 error", "HTTP 503"; not "350 pages", "125 responses"
            return 1, _paired(core)
        after = self._peek()
        capitals = re.fullmatch(r"[A-Z]{2,4}", before) is not None and before not in _UNITS
        if (
            capitals
            and before not in _NOT_MODELS
            and following not in _UNITS  # "SSD 256 GB": a quantity
            and not (after.isupper() and len(_TRAIL.sub("", after)) > 1)  # "WITH 2345 VOTES"
            and not (  # "MRI 150 scans" counts; "RTX 4090 has" names
                not trail
                and following.islower()
                and following.endswith("s")
                and following not in _MODEL_VERBS
            )
        ):
            return 1, _paired(core)  # "RTX 4090", "GTX 1080"
        if capitals and 1900 <= integer(core) <= 2099:
            return 1, year(integer(core))  # "the EU 2030 targets", "the TX 2024 finals"
        return None

    def _exponent(self, core: str, trail: str):
        """ "10^8", "10^-4", "10²³", "10⁻³", "6.022e23": scientific notation, ten to the
        eighth, ten to the minus four, six point zero two two times ten to the twenty-third.
        espeak read "10²³" as "ten two three", dropping a negative exponent's sign."""
        if match := _E_NOTATION.fullmatch(core):
            base, exponent = match.groups()
            times = f"{_MULTIPLIER_WORD[self.language]} {self._plain('10')}"
            said = self._power_said(exponent.replace("\u2212", "-"))
            return self._with_unit(f"{self._plain(base)} {times} {said}", trail)
        if match := _POWER_OF_TEN.fullmatch(core):
            base = match.group(1)
            exponent = (match.group(2) or match.group(3)).translate(_SUPERSCRIPTS)
            if base != "10" and exponent in ("2", "3"):
                return None  # "5²": five squared (_power)
            said = self._power_said(exponent.replace("\u2212", "-"))
            return self._with_unit(f"{self._plain(base)} {said}", trail)
        return None

    def _with_unit(self, said: str, trail: str) -> tuple[int, str]:
        """A quantity said, and its unit after it if one follows ("10^8 m/s": meters per
        second; "10⁻³ m": meters), in the plural."""
        unit = _TRAIL.sub("", self._peek())
        if trail or not unit:
            return 1, said
        if unit in _UNITS:
            return 2, f"{said} {_UNITS[unit][self.es][1]}"
        if (split := self._per_unit(unit)) and split[0] in _UNITS:
            return 2, f"{said} {_UNITS[split[0]][self.es][1]} {split[1]}"
        return 1, said

    def _power_said(self, written: str) -> str:
        """To the eighth, to the minus four (Spanish: elevado a ocho, a menos cuatro)."""
        negative, exponent = written.startswith("-"), integer(written.lstrip("+-"))
        if self.es:
            return f"elevado a {'menos ' if negative else ''}{cardinal(exponent, 'es')}"
        if negative:
            return f"to the minus {cardinal(exponent)}"
        return f"to the {ordinal(exponent)}"

    def _scaled(self, core: str, trail: str):
        """ "100K people", "10M users": a K, M, B or bn stuck to a number, before a noun such
        figures count (_SCALED_COUNTS), is thousand, million, billion ("10 m" is meters;
        "10M" alone, "a 5K run" and "the 3M company" are left)."""
        match = re.fullmatch(r"(\d{1,3}(?:\.\d{1,2})?)(K|M|B|bn)", core)
        following = _TRAIL.sub("", _LEAD.sub("", self._peek()))
        if self.es or not match or trail or not following[:1].islower():
            return None
        # What is counted ("users", "people"), not "a 5K run", "the 5K is", "4K versions",
        # "401K plans": only nouns that such figures count.
        if following not in _SCALED_COUNTS:
            return None
        amount, suffix = match.groups()
        return 1, f"{self._as_number(amount)} {_SCALE_SUFFIXES[suffix]}"

    def _number_and_unit(self, core: str, trail: str):
        number = _number_pattern(self.language)
        match = re.fullmatch(rf"([-\u2212+]?(?:{number}))\s*({_UNIT_PATTERN})", core)
        if match:
            amount, unit = match.groups()
            return 1, self._quantity(amount, self._minutes_after_hours(unit), 1)
        if trail or self._parse(core) is None:
            return None
        following = self._peek()
        bare = self._minutes_after_hours(_TRAIL.sub("", following))
        if not self.es and (
            (bare == "in" and self._previous_word() in ("ft", "ft.", "feet", "foot"))
            or (following == "in." and self._peek(2)[:1].islower())
        ):  # "5 ft 11 in", "2 in. of rain": inches (else "in" is the word: "1 in 5")
            self._unit_stop(2)
            return 2, f"{self._plain(core)} {'inch' if core == '1' else 'inches'}"
        if following in ("sq", "sq.") and (square := _TRAIL.sub("", self._peek(2))) in _SQUARE:
            return 3, self._quantity(core, _SQUARE[square], 3)  # "10 sq ft": square feet
        if bare in _UNITS and not self._compass(following, 1):
            self._unit_stop(2)
            return 2, self._quantity(core, bare, 2)
        if (split := self._per_unit(following)) and split[0] in _UNITS:
            return 2, f"{self._quantity(core, split[0], 2)} {split[1]}"  # "10 mg/kg"
        return None

    def _minutes_after_hours(self, unit: str) -> str:
        """ "m" after hours ("2h 15m", "1 hr 30 m") is minutes, not meters."""
        before = self.raw[self.i - 1] if self.i else ""
        hours = re.fullmatch(r"\d+(?:[.,]\d+)?\s*(?:h|hr|hrs)|h|hr|hrs|hours?|horas?", before)
        return "min" if unit == "m" and hours else unit

    def _feet_inches(self, core: str, trail: str):
        """ "6'2\"", "5\u203210\u2033": a height in feet and inches, six foot two."""
        match = re.fullmatch(r"(\d)['\u2019\u2032](\d{1,2})[\"\u201d\u2033]?", core)
        if match is None or self.es or integer(match.group(2)) > 11:
            return None
        if trail[:1] in ('"', "\u201d", "\u2033") and not core.endswith(('"', "\u201d")):
            self._ending = trail[1:]  # its inch mark, not a closing quote
        feet, inches = (cardinal(integer(g)) for g in match.groups())
        return 1, f"{feet} foot {inches}"

    def _inches(self, core: str, trail: str):
        """'1/4" thick', '2" squares', '12" x 14"', a 10″ pan: an inch mark after a number
        (espeak dropped it, "one quarter thick"), where no quote is open for it to close.
        Singular before the noun it measures, as units are ("a 2-inch pipe")."""
        if core.endswith("\u2033"):  # a double prime, no quote: "10″"
            core, trail = core[:-1], "\u2033" + trail
        opened = self._quotes + self.raw[self.i].count('"') - trail.count('"')
        if self.es or trail[:1] not in ('"', "\u2033") or (trail[0] == '"' and opened % 2):
            return None  # '"23"', 'He said "I'm 6"': a quote's closing
        if not re.fullmatch(r"\d+(?:\.\d+)?|\d{1,2}/\d{1,2}", core):
            return None
        self._ending = trail[1:]
        self._quotes -= trail[0] == '"'  # an inch mark opens and closes no quote
        following = _TRAIL.sub("", self._peek())
        qualifies = (  # "2\" squares", "a 55\" TV"
            not trail[1:]
            and following.isalpha()
            and following != "x"
            and (following.islower() or self._previous_word() in ("a", "an"))
        )
        if "/" in core:
            n, d = (integer(x) for x in core.split("/"))
            if n >= d:
                return None
            said = self._fraction(core, ",")[1]
            return 1, f"{said} inch"
        whole, frac = self._parse(core)
        one = whole == 1 and not frac
        inch = "inch" if one or (qualifies and following not in _NOT_QUALIFIED) else "inches"
        return 1, f"{self._plain(core)} {inch}"

    def _unit_stop(self, taken: int) -> None:
        """A unit written with an abbreviation's full stop ("1 cdta. de sal", "2 oz. of
        butter") before a lowercase word: the stop is the abbreviation's, not the
        sentence's (set as this rule's ending)."""
        last = self.raw[self.i + taken - 1]
        tail = _TRAIL.search(last)
        if tail and tail.group(0) == "." and self._peek(taken)[:1].islower():
            self._ending = ""

    def _quantity(self, amount: str, unit: str, taken: int = 1) -> str:
        """A number and its unit, the unit's word the last of ``taken`` words."""
        whole, frac = self._parse(amount)
        en, es, gender = _UNITS[unit]
        singular, plural = es if self.es else en
        count = self._number_words(whole, frac, gender=gender if self.es else "m", noun=True)
        one = abs(whole) == 1 and not frac
        return f"{count} {singular if one or self._modifies(taken) else plural}"

    def _modifies(self, taken: int) -> bool:
        """Whether an English quantity of ``taken`` words after "a" or "an" qualifies the
        noun after it ("a 5 kg bag", "a 512GB SSD", "a 10 km long road"): its unit is
        said in the singular, as in "a five kilogram bag"."""
        following = _TRAIL.sub("", self._peek(taken))
        return (
            not self.es
            and self._previous_word() in ("a", "an")
            and not _TRAIL.search(self.raw[self.i + taken - 1])
            and following.isalpha()
            and (following.islower() or following.isupper())  # "a 512GB SSD"
            and following not in _NOT_QUALIFIED
        )

    def _unit_after(self, whole: int, has_frac: bool) -> str | None:
        bare = _TRAIL.sub("", self._peek())
        if bare not in _UNITS:
            return None
        en, es, _ = _UNITS[bare]
        singular, plural = es if self.es else en
        return singular if whole == 1 and not has_frac else plural

    def _roman(self, core: str, trail: str):
        possessive = _POSSESSIVE.search(core)
        if possessive and len(core) > len(possessive.group(0)):  # "Henry VIII's reign"
            said = self._roman(core[: possessive.start()], trail or possessive.group(0))
            return None if said is None else (said[0], said[1] + possessive.group(0))
        if not core or not _ROMAN.fullmatch(core):
            return None
        previous = self.raw[self.i - 1] if self.i else ""
        counted = (
            self._previous_word() in _ROMAN_CONTEXT[self.language]
            or (
                self._previous_word() in _ROMAN_CONTEXT_MORE[self.language]
                and (len(core) >= 2 or previous[:1].isupper())
            )
            # A heading that is only a numeral ("XII", "## IV", "I."), as books number
            # their chapters: espeak read "XII" alone as "roman twelve".
            or self._alone()
        )
        # One letter only after a monarch's name: "Henry V", "Carlos I" (Spanish has no
        # pronoun "I"; English "when George I saw" keeps the word).
        single = previous in _MONARCHS and (
            core in ("V", "X") or (core == "I" and (self.es or self._reigned(trail)))
        )
        regnal = (
            not counted
            and (len(core) >= 2 or single)
            and _REGNAL.match(core) is not None
            and previous[:1].isupper()
            and previous.isalpha()
        )
        if regnal and previous not in _MONARCHS:
            if core == "IV" and self._intravenous():
                return 1, spell(core)
            if core in _NOT_SEQUELS and core != "IV":
                return None
            regnal, counted = False, True  # "Rocky II", "Apollo XIII": two, thirteen
        if not (counted or regnal):
            # "an IV drip", "5 mg IV": intravenous, said "I V" (espeak: "roman four")
            return (1, spell(core)) if core == "IV" else None
        values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
        total = 0
        for k, ch in enumerate(core):
            value = values[ch]
            total += -value if k + 1 < len(core) and values[core[k + 1]] > value else value
        if self.es and previous.lower() in ("el", "la") and total <= 10 and (counted or regnal):
            # "la IV edición", "el IV Congreso": an ordinal before its noun, cuarta, cuarto
            return 1, ordinal(total, "es", gender="f" if previous.lower() == "la" else "m")
        if counted:
            return 1, cardinal(total, self.language)
        if self.es:  # "Felipe segundo", "Isabel segunda", "Alfonso trece"
            gender = "f" if previous in _QUEENS else "m"
            return 1, ordinal(total, "es", gender=gender) if total <= 10 else cardinal(total, "es")
        return 1, f"the {ordinal(total)}"  # "Henry the eighth"

    def _reigned(self, trail: str) -> bool:
        """Whether an English "I" after a monarch's name is the numeral: punctuation after
        it ("Charles I, king of England", "Elizabeth I.") or a word of _REIGN_WORDS ("Charles
        I was executed"); not "when George I saw it"."""
        return bool(trail) or _TRAIL.sub("", self._peek()).lower() in _REIGN_WORDS

    def _intravenous(self) -> bool:
        """Whether "IV" after a capitalized word (not a monarch's) is intravenous: before a
        word of _INTRAVENOUS ("Patient IV fluids", "Start IV antibiotics"); else it numbers a
        sequel ("Rocky IV is my favorite": four)."""
        return _TRAIL.sub("", self._peek()).lower() in _INTRAVENOUS

    def _month_day(self, core: str, trail: str):
        """English says "March 15" as "March fifteenth", "15 March" as "the fifteenth of
        March" (Spanish "15 de marzo" needs nothing)."""
        if self.es or not re.fullmatch(r"\d{1,2}", core) or not 1 <= integer(core) <= 31:
            return None
        months = _MONTHS["en"]
        if self._after_month():
            if self._counts_after_month():
                return None  # "In March 12 people came": twelve
            return 1, ordinal(integer(core))
        following = self._peek().rstrip(".,;:!?")
        if following in months and not trail:
            return 1, self._day_before_month(integer(core))
        return None

    def _day_before_month(self, day: int) -> str:
        """A day written before its month ("15 March", "12th March"): "the fifteenth of"
        (no second "the" after one: "the 15 March")."""
        the = "" if self._previous_word() == "the" else "the "
        return f"{the}{ordinal(day)} of"

    def _counts_after_month(self) -> bool:
        """Whether a number after a month's name counts what follows ("In March 12 people
        came", "during May 30 students left"): the month follows "in" or "during" (a day
        follows "on"), and a plural noun comes next with no punctuation between."""
        return (
            self._previous_word(2) in ("in", "during")
            and self._noun_follows()
            and self._plural_follows()
        )

    def _after_month(self) -> bool:
        """Whether the word before is an English month: its name ("March", "March,"; not
        "May." ending a sentence) or its capitalized abbreviation ("Aug", "Aug.")."""
        previous = self.raw[self.i - 1].rstrip(",") if self.i else ""
        return previous in _MONTHS["en"] or (
            previous.count(".") <= 1
            and previous.rstrip(".") in _MONTH_ABBREVIATIONS["en"]
            # "Jan 3 times": a name; "Jan 2024": the month
            and (previous != "Jan" or _YEAR_AFTER_JAN.match(self.raw[self.i]) is not None)
        )

    def _starts_here(self) -> bool:
        """Whether the word here starts a sentence, a clause after a colon, or a quote."""
        previous = self.raw[self.i - 1].rstrip(_CLOSING) if self.i else "."
        return previous.endswith((*SENTENCE_ENDS, ":")) or bool(_LEAD.match(self.raw[self.i]))

    def _dialogue(self, core: str, trail: str):
        said = _dialogue(core, self.language, self._starts_here())
        return None if said is None else (1, said)

    def _world_war(self, core: str, trail: str):
        """ "WWII veterans", "WW1", "WWII-era", "WWII's": World War Two."""
        match = _WORLD_WAR.match(core)
        if match is None:
            return None
        return 1, _WORLD_WARS[self.language][match.group(1)] + core[match.end() :]

    def _symbol(self, core: str, trail: str):
        spoken = _SYMBOLS[self.language].get(core)
        return (1, spoken) if spoken else None

    def _angles(self, core: str, trail: str):
        """Angle brackets that are no HTML (markdown.py drops only tags of known elements):
        a comparison "a<b", "c>=d" (less than, greater than or equal to), a type's
        parameters "List<String>" or "<name>" (the words: "List String")."""
        if "<" not in core and ">" not in core:
            return None
        if core == "<3" and self._loves():
            return 1, "love" if not self.es else "amo"  # "I <3 NY"
        pieces = _COMPARISON_SPLIT.split(core)
        operands, operators = pieces[0::2], pieces[1::2]
        # A comparison's sides are numbers, one-letter variables or lowercase identifiers
        # ("a<b", "x<y>z", "n>=10", "i<len", "<5 s"), or it has none ("<" alone); "<name",
        # "URL>" and "Map<String, Integer>" are a placeholder's or a type's brackets.
        simple = all(not o or _OPERAND.fullmatch(o) for o in operands)
        sided = bool(operands[0]) == bool(operands[-1]) or re.search(r"\d", core)
        if simple and sided:
            said = []
            for operand, operator in zip(operands, [*operators, None], strict=True):
                if operand:
                    said.append(self._plain(operand))
                if operator:
                    said.append(_COMPARISONS[self.language][operator])
            return 1, " ".join(said)
        if re.fullmatch(r"[\w.,<>?]+", core) and re.search(r"\w", core):
            return 1, " ".join(re.split(r"[<>,]+", core)).strip()
        return None

    def _loves(self) -> bool:
        """Whether "<3" stands between two words as a heart ("I <3 NY", "Kids <3 puppies"),
        not after a variable ("x <3")."""
        previous = self.raw[self.i - 1] if self.i else ""
        # After "I" or a name ("Kids", "NY"), not after a noun measured ("a score <3 were",
        # "aged <3 years": less than three).
        word = previous == "I" or (previous[:1].isupper() and previous.isalpha())
        return word and self._peek()[:1].isalpha()

    def _hyphenated(self, core: str, trail: str):
        """ "21st-century", "COVID-19", "5-year-old": the numbers in it said as words."""
        if "-" not in core or core.startswith("-"):
            return None
        parts = core.split("-")
        if not any(re.search(r"\d", p) for p in parts) or not all(parts):
            return None
        said = []
        if not self.es and all(_DECADE.match(p) for p in parts):  # "1990s-2000s"
            return 1, f" {self.words['to']} ".join(self._decade(p, "")[1] for p in parts)
        for part in parts:
            if not self.es and _DECADE.match(part):  # "mid-1990s": mid nineteen nineties
                said.append(self._decade(part, "")[1])
            elif _FRACTION.match(part) and _is_proper(part):  # "1/2-inch": half inch
                fraction = tuple(integer(x) for x in part.split("/"))
                if self.es or fraction not in _FRACTION_ADJECTIVES:
                    said.append(self._fraction(part, ",")[1])
                else:
                    said.append(_FRACTION_ADJECTIVES[fraction])
            elif (by := self._times(part, "")) is not None:  # "9x13-inch": nine by thirteen
                said.append(by[1])
            elif ordinal_match := (_ORDINAL_ES if self.es else _ORDINAL_EN).match(part):
                said.append(self._ordinal(part, "")[1] if ordinal_match else part)
            elif self._parse(part) is not None:
                said.append(self._plain(part))
            elif part in _UNITS and said and not self.es and re.search(r"\d", parts[0]):
                said.append(_UNITS[part][0][0])  # "a 10-km race": a ten kilometer race
            else:
                said.append(part)
        return 1, " ".join(said)
