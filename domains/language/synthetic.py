"""The synthetic demo data: product reviews with sentiment and English-Spanish sentence pairs, both from small grammars.

- `reviews`: product reviews in three classes (`negative`, `neutral`,
  `positive`). A review's label follows from its structure, not from a bag
  of words: negation flips a clause (`is not at all reliable`), in `A, but B`
  and `Although A, B` the second clause decides, `A and B` with opposite
  clauses is mixed (neutral), and `neither X nor Y` is neutral. Some reviews
  carry HTML remnants (`<br /><br />`, `&amp;`) the way scraped reviews do.
- `write_reviews_csv`, `write_class_folders`: those reviews as a labelled
  CSV, or in the aclImdb layout (`train/pos`, `train/neg`, `test/...`).
- `sentence_pairs`: English sentences and their Spanish translations, with
  gender and number agreement (`the red houses` -> `las casas rojas`),
  adjectives after nouns, verb conjugation by person, dropped subject
  pronouns, `no` before the verb for `do not`/`don't`, the personal `a`
  (`veo al niño`), questions (`¿...?`) and quotations (a `"` is data), so a
  word-by-word translation is visibly wrong.
- `write_pairs_tsv`: pairs in the Tatoeba/Anki format (`source<TAB>target
  <TAB>attribution`).

Every word is ordinary English (and Spanish) vocabulary. The same seed gives
the same data on every machine. Nothing is downloaded. The data is
synthetic: a model trained on it knows a few hundred words and a handful of
sentence shapes, not real reviews or real Spanish.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

CLASSES = ("negative", "neutral", "positive")
ATTRIBUTION = "synthetic: dlsuite English-Spanish grammar"

# --- reviews -------------------------------------------------------------------------------

POSITIVE_WORDS = (
    "excellent", "great", "wonderful", "superb", "sturdy", "reliable", "comfortable", "fantastic",
    "impressive", "solid", "pleasant", "flawless", "brilliant", "elegant", "good", "durable",
)
NEGATIVE_WORDS = (
    "terrible", "awful", "flimsy", "useless", "disappointing", "poor", "broken", "noisy",
    "faulty", "horrible", "dreadful", "fragile", "bad", "defective", "unreliable", "uncomfortable",
)
NEUTRAL_WORDS = ("average", "ordinary", "standard", "acceptable", "adequate", "typical", "plain", "unremarkable")
PRODUCTS = (
    "blender", "kettle", "backpack", "lamp", "jacket", "phone", "vacuum cleaner", "coffee maker",
    "keyboard", "tent", "mattress", "toaster", "printer", "chair", "watch", "speaker",
)
ASPECTS = (
    "battery", "screen", "handle", "price", "delivery", "packaging", "sound", "build quality",
    "design", "fabric", "motor", "manual", "customer service", "lid", "zipper", "cable",
)
_INTENSIFIERS = ("", "", "", "really ", "very ", "quite ", "extremely ", "surprisingly ")
_FACTS = (
    "I bought this {product} last month.",
    "It arrived on a {day}.",
    "I use the {product} every day.",
    "The box had the {product}, a {colour} cable and a short manual.",
    "My sister has the same {product}.",
    "I ordered it in {colour}.",
    "It replaced my old {product}.",
    "The {product} comes in three colours.",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_COLOURS = ("black", "white", "grey", "blue", "red", "green")
_CLOSING = {
    "positive": ("I would buy it again.", "Recommended.", "Five stars from me.", "Happy with it overall."),
    "negative": ("I would not buy it again.", "I returned it.", "One star from me.", "Avoid it."),
    "neutral": ("It does what it says.", "Nothing special.", "Three stars.", "It is fine for the price."),
}


def _opinion(rng: np.random.Generator, polarity: int) -> str:
    """One clause about one aspect whose sentiment is `polarity` (+1 or -1), negated half of the time."""
    aspect = ASPECTS[rng.integers(len(ASPECTS))]
    negate = rng.random() < 0.45
    words = POSITIVE_WORDS if (polarity > 0) != negate else NEGATIVE_WORDS
    adjective = words[rng.integers(len(words))]
    if not negate:
        form = rng.integers(4)
        if form == 0:
            return f"the {aspect} is {_INTENSIFIERS[rng.integers(len(_INTENSIFIERS))]}{adjective}"
        if form == 1:
            return f"the {aspect} feels {adjective}"
        if form == 2:
            return f"I found the {aspect} {_INTENSIFIERS[rng.integers(len(_INTENSIFIERS))]}{adjective}"
        return f"the {aspect} turned out {adjective}"
    form = rng.integers(6)
    return (
        f"the {aspect} is not {adjective}",
        f"the {aspect} is not very {adjective}",
        f"the {aspect} is not at all {adjective}",
        f"the {aspect} was never {adjective}",
        f"the {aspect} isn't {adjective}",
        f"I would not call the {aspect} {adjective}",
    )[form]


def _neutral_clause(rng: np.random.Generator) -> str:
    aspect = ASPECTS[rng.integers(len(ASPECTS))]
    form = rng.integers(4)
    if form == 0:
        return f"the {aspect} is {NEUTRAL_WORDS[rng.integers(len(NEUTRAL_WORDS))]}"
    if form == 1:
        good, bad = POSITIVE_WORDS[rng.integers(len(POSITIVE_WORDS))], NEGATIVE_WORDS[rng.integers(len(NEGATIVE_WORDS))]
        first, second = (good, bad) if rng.random() < 0.5 else (bad, good)
        return f"the {aspect} is neither {first} nor {second}"
    if form == 2:  # a mixed review: one good clause and one bad, joined by "and"
        clauses = [_opinion(rng, +1), _opinion(rng, -1)]
        rng.shuffle(clauses)
        return f"{clauses[0]} and {clauses[1]}"
    return f"the {aspect} is {NEUTRAL_WORDS[rng.integers(len(NEUTRAL_WORDS))]}, nothing more"


def _capitalize(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _review(rng: np.random.Generator, label: str, html_share: float) -> str:
    product = PRODUCTS[rng.integers(len(PRODUCTS))]
    if label == "neutral":
        core = _neutral_clause(rng)
    else:
        polarity = 1 if label == "positive" else -1
        shape = rng.integers(4)
        if shape == 0:
            core = _opinion(rng, polarity)
        elif shape == 1:  # the clause after "but" decides
            core = f"{_opinion(rng, -polarity)}, but {('honestly ', 'overall ', '', '')[rng.integers(4)]}{_opinion(rng, polarity)}"
        elif shape == 2:  # the main clause decides
            core = f"although {_opinion(rng, -polarity)}, {_opinion(rng, polarity)}"
        else:
            core = f"{_opinion(rng, polarity)} and {_opinion(rng, polarity)}"
    sentences = [_capitalize(core) + "."]
    for _ in range(rng.integers(0, 3)):
        fact = _FACTS[rng.integers(len(_FACTS))].format(
            product=product, day=_DAYS[rng.integers(len(_DAYS))], colour=_COLOURS[rng.integers(len(_COLOURS))],
        )
        sentences.insert(int(rng.integers(len(sentences) + 1)), fact)
    if rng.random() < 0.5:
        closing = _CLOSING[label]
        sentences.append(closing[rng.integers(len(closing))])
    html = rng.random() < html_share
    text = (" <br /><br />" if html else " ").join(sentences)
    if html and rng.random() < 0.5:
        text = text.replace(" and ", " &amp; ", 1)
    return text


def reviews(n: int, seed: int = 0, html_share: float = 0.2) -> list[tuple[str, str]]:
    """`n` synthetic product reviews as `(text, label)`, the three classes of `CLASSES` in turn.

    Args:
        n: int. How many reviews.
        seed: int. The same seed gives the same reviews.
        html_share: float. The share of reviews whose sentences are joined by
            `<br /><br />` (and some `and` written `&amp;`), as in scraped reviews.
    """
    rng = np.random.default_rng(seed)
    labels = [CLASSES[i % len(CLASSES)] for i in range(n)]
    order = rng.permutation(n)
    return [(_review(rng, labels[i], html_share), labels[i]) for i in order]


def write_reviews_csv(path: Path, n: int, seed: int = 0, text_column: str = "text", label_column: str = "label") -> Path:
    """`n` reviews as a CSV with a header (`text,label` by default); returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([text_column, label_column])
        writer.writerows(reviews(n, seed))
    return path


FOLDERS = {"negative": "neg", "positive": "pos", "neutral": "neutral"}


def write_class_folders(root: Path, train: int, test: int, seed: int = 0, classes: tuple[str, ...] = ("negative", "positive")) -> Path:
    """Reviews of `classes` in the aclImdb layout: `root/{train,test}/{neg,pos}/<id>_<stars>.txt`; returns `root`."""
    root = Path(root)
    stars = {"negative": 2, "neutral": 5, "positive": 9}
    for split, n, offset in (("train", train, 0), ("test", test, 1)):
        rows = [row for row in reviews(n * 3 // len(classes) + 3, seed + offset) if row[1] in classes][:n]
        for index, (text, label) in enumerate(rows):
            folder = root / split / FOLDERS[label]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{index}_{stars[label]}.txt").write_text(text, encoding="utf-8")
    return root


# --- English-Spanish pairs -------------------------------------------------------------------

# (English singular, English plural, Spanish singular, Spanish plural, gender, a person)
NOUNS = (
    ("car", "cars", "coche", "coches", "m", False),
    ("book", "books", "libro", "libros", "m", False),
    ("dog", "dogs", "perro", "perros", "m", False),
    ("cat", "cats", "gato", "gatos", "m", False),
    ("tree", "trees", "árbol", "árboles", "m", False),
    ("shoe", "shoes", "zapato", "zapatos", "m", False),
    ("house", "houses", "casa", "casas", "f", False),
    ("window", "windows", "ventana", "ventanas", "f", False),
    ("letter", "letters", "carta", "cartas", "f", False),
    ("door", "doors", "puerta", "puertas", "f", False),
    ("apple", "apples", "manzana", "manzanas", "f", False),
    ("city", "cities", "ciudad", "ciudades", "f", False),
    ("flower", "flowers", "flor", "flores", "f", False),
    ("table", "tables", "mesa", "mesas", "f", False),
    ("chair", "chairs", "silla", "sillas", "f", False),
    ("boy", "boys", "niño", "niños", "m", True),
    ("girl", "girls", "niña", "niñas", "f", True),
    ("teacher", "teachers", "profesor", "profesores", "m", True),
    ("friend", "friends", "amigo", "amigos", "m", True),
    ("man", "men", "hombre", "hombres", "m", True),
    ("woman", "women", "mujer", "mujeres", "f", True),
)
# English -> Spanish (masculine singular, feminine singular, masculine plural, feminine plural)
ADJECTIVES = {
    "red": ("rojo", "roja", "rojos", "rojas"),
    "white": ("blanco", "blanca", "blancos", "blancas"),
    "black": ("negro", "negra", "negros", "negras"),
    "small": ("pequeño", "pequeña", "pequeños", "pequeñas"),
    "tall": ("alto", "alta", "altos", "altas"),
    "new": ("nuevo", "nueva", "nuevos", "nuevas"),
    "old": ("viejo", "vieja", "viejos", "viejas"),
    "pretty": ("bonito", "bonita", "bonitos", "bonitas"),
    "cheap": ("barato", "barata", "baratos", "baratas"),
    "clean": ("limpio", "limpia", "limpios", "limpias"),
    "yellow": ("amarillo", "amarilla", "amarillos", "amarillas"),
    "green": ("verde", "verde", "verdes", "verdes"),
    "big": ("grande", "grande", "grandes", "grandes"),
    "happy": ("feliz", "feliz", "felices", "felices"),
}
PERSON_ADJECTIVES = ("tall", "small", "happy", "old", "new", "big")  # the adjectives a person takes
# English (base, third person singular) -> Spanish present (yo, tú, él/ella, nosotros, ellos)
VERBS = (
    ("see", "sees", ("veo", "ves", "ve", "vemos", "ven"), True),
    ("have", "has", ("tengo", "tienes", "tiene", "tenemos", "tienen"), False),
    ("want", "wants", ("quiero", "quieres", "quiere", "queremos", "quieren"), False),
    ("buy", "buys", ("compro", "compras", "compra", "compramos", "compran"), False),
    ("open", "opens", ("abro", "abres", "abre", "abrimos", "abren"), False),
    ("clean", "cleans", ("limpio", "limpias", "limpia", "limpiamos", "limpian"), False),
    ("find", "finds", ("encuentro", "encuentras", "encuentra", "encontramos", "encuentran"), True),
    ("sell", "sells", ("vendo", "vendes", "vende", "vendemos", "venden"), False),
    ("need", "needs", ("necesito", "necesitas", "necesita", "necesitamos", "necesitan"), True),
    ("paint", "paints", ("pinto", "pintas", "pinta", "pintamos", "pintan"), True),
)
# English, Spanish (None: Spanish drops it), person index into the conjugations
PRONOUNS = (("I", None, 0), ("you", None, 1), ("he", "él", 2), ("she", "ella", 2), ("we", None, 3), ("they", "ellos", 4))
TIMES = (("today", "hoy"), ("now", "ahora"), ("every day", "todos los días"), ("on Sundays", "los domingos"))
_ARTICLES = {  # English determiner -> Spanish by (gender, plural)
    "the": {("m", False): "el", ("f", False): "la", ("m", True): "los", ("f", True): "las"},
    "a": {("m", False): "un", ("f", False): "una"},
    "some": {("m", True): "unos", ("f", True): "unas"},
    "my": {("m", False): "mi", ("f", False): "mi", ("m", True): "mis", ("f", True): "mis"},
    "this": {("m", False): "este", ("f", False): "esta"},
    "these": {("m", True): "estos", ("f", True): "estas"},
}


def _noun_phrase(rng: np.random.Generator, persons: bool | None = None) -> tuple[str, str, str, bool, bool]:
    """(English, Spanish, gender, plural, a person) of a determiner, a noun and maybe an adjective."""
    candidates = [n for n in NOUNS if persons is None or n[5] == persons]
    en_sg, en_pl, es_sg, es_pl, gender, person = candidates[rng.integers(len(candidates))]
    plural = bool(rng.random() < 0.4)
    determiners = [d for d, forms in _ARTICLES.items() if (gender, plural) in forms]
    determiner = determiners[rng.integers(len(determiners))]
    en_noun, es_noun = (en_pl, es_pl) if plural else (en_sg, es_sg)
    en, es = f"{determiner} {en_noun}", f"{_ARTICLES[determiner][(gender, plural)]} {es_noun}"
    if rng.random() < 0.5:
        adjectives = PERSON_ADJECTIVES if person else tuple(ADJECTIVES)
        adjective = adjectives[rng.integers(len(adjectives))]
        es_adjective = ADJECTIVES[adjective][(gender == "f") + 2 * plural]
        en, es = f"{determiner} {adjective} {en_noun}", f"{es} {es_adjective}"
    return en, es, gender, plural, person


def _object(rng: np.random.Generator, persons: bool) -> tuple[str, str]:
    en, es, _, _, person = _noun_phrase(rng, persons=None if persons else False)
    if person:  # the personal "a"; "a el" contracts to "al"
        es = "al" + es[2:] if es.startswith("el ") else "a " + es
    return en, es


def _copula(rng: np.random.Generator) -> tuple[str, str, bool]:
    """`<subject> is/are [not] <adjective>`: the adjective agrees with the subject in gender and number."""
    if rng.random() < 0.4:
        en_subject, es_subject, gender, plural = (("he", "él", "m", False), ("she", "ella", "f", False), ("they", "ellos", "m", True))[rng.integers(3)]
        person = True
    else:
        en_subject, es_subject, gender, plural, person = _noun_phrase(rng)
    adjectives = PERSON_ADJECTIVES if person else tuple(ADJECTIVES)
    adjective = adjectives[rng.integers(len(adjectives))]
    es_adjective = ADJECTIVES[adjective][(gender == "f") + 2 * plural]
    be, ser = ("are", "son") if plural else ("is", "es")
    negate = rng.random() < 0.3
    if negate:
        be = (f"{be} not", f"{be}n't")[rng.integers(2)]
    return f"{en_subject} {be} {adjective}", f"{es_subject} {'no ' if negate else ''}{ser} {es_adjective}", False


def _clause(rng: np.random.Generator) -> tuple[str, str, bool]:
    """An English clause, its Spanish translation, and whether it is a question."""
    if rng.random() < 0.2:
        return _copula(rng)
    if rng.random() < 0.55:
        en_subject, es_subject, person = PRONOUNS[rng.integers(len(PRONOUNS))]
    else:
        en_subject, es_subject, _, plural, _ = _noun_phrase(rng, persons=True)
        person = 4 if plural else 2
    third = person == 2
    base, third_form, conjugations, persons = VERBS[rng.integers(len(VERBS))]
    en_object, es_object = _object(rng, persons)
    es_verb = conjugations[person]
    spanish_subject = f"{es_subject} " if es_subject else ""
    kind = rng.random()
    if kind < 0.12:  # a question: do/does + subject + verb
        auxiliary = "does" if third else "do"
        return f"{auxiliary} {en_subject} {base} {en_object}", f"{spanish_subject}{es_verb} {es_object}", True
    if kind < 0.42:  # negation: do not / don't / does not / doesn't
        auxiliary = "does" if third else "do"
        negation = (f"{auxiliary} not", f"{auxiliary}n't")[rng.integers(2)]
        en, es = f"{en_subject} {negation} {base} {en_object}", f"{spanish_subject}no {es_verb} {es_object}"
    else:
        en, es = f"{en_subject} {third_form if third else base} {en_object}", f"{spanish_subject}{es_verb} {es_object}"
    if rng.random() < 0.25:
        en_time, es_time = TIMES[rng.integers(len(TIMES))]
        en, es = f"{en} {en_time}", f"{es} {es_time}"
    return en, es, False


def _sentence(en: str, es: str, question: bool) -> tuple[str, str]:
    if question:
        return _capitalize(en) + "?", "¿" + _capitalize(es) + "?"
    return _capitalize(en) + ".", _capitalize(es) + "."


def sentence_pairs(n: int, seed: int = 0, quote_share: float = 0.08) -> list[tuple[str, str]]:
    """`n` English sentences and their Spanish translations, as `(english, spanish)`.

    Args:
        n: int. How many pairs (a sentence may come up more than once, as in Tatoeba).
        seed: int. The same seed gives the same pairs.
        quote_share: float. The share of sentences that quote another (`She says "I see the dog."`).
    """
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(n):
        en, es, question = _clause(rng)
        if rng.random() < quote_share:
            quoted_en, quoted_es = _sentence(en, es, question)
            speaker = rng.integers(3)
            en_speaker, es_speaker = (("He says", "Él dice"), ("She says", "Ella dice"), ("They say", "Ellos dicen"))[speaker]
            pairs.append((f'{en_speaker} "{quoted_en}"', f'{es_speaker} "{quoted_es}"'))
        else:
            pairs.append(_sentence(en, es, question))
    return pairs


def write_pairs_tsv(path: Path, pairs: list[tuple[str, str]], attribution: bool = True) -> Path:
    """`pairs` as `source<TAB>target` lines (with a third attribution column, as in Tatoeba/Anki files); returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = f"\t{ATTRIBUTION}" if attribution else ""
    path.write_text("".join(f"{source}\t{target}{suffix}\n" for source, target in pairs), encoding="utf-8")
    return path
