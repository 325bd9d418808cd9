"""British to American spelling pairs, written for aural from spelling rules.

Each rule lists American stems and the inflections that exist for them; the British
spelling is derived from the rule (``-our`` for ``-or``, ``-ise`` for ``-ize``, ``-re``
for ``-er``, doubled ``l`` before a suffix, ...). :func:`british_to_american` expands
them into one lookup table. Only whole lower-case words are mapped.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["british_to_american"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# American stem ending in "or" -> British "our"; suffixes that form real words.
_OR_WORDS: dict[str, tuple[str, ...]] = {
    "color": ("", "s", "ed", "ing", "ful", "less", "ation", "ist", "ists"),
    "honor": ("", "s", "ed", "ing", "able", "ably"),
    "favor": ("", "s", "ed", "ing", "able", "ably", "ite", "ites", "itism"),
    "labor": ("", "s", "ed", "ing", "er", "ers"),
    "neighbor": ("", "s", "ing", "hood", "hoods", "ly", "liness"),
    "behavior": ("", "s", "al", "ally", "ism", "ist"),
    "harbor": ("", "s", "ed", "ing"),
    "humor": ("", "s", "ed", "ing", "less"),
    "flavor": ("", "s", "ed", "ing", "ful", "less", "some"),
    "odor": ("", "s", "less"),
    "rumor": ("", "s", "ed"),
    "valor": ("",),
    "vigor": ("",),
    "rigor": ("", "s"),
    "splendor": ("", "s"),
    "tumor": ("", "s"),
    "vapor": ("", "s", "ing", "ware"),
    "armor": ("", "s", "ed", "y", "er", "ers"),
    "ardor": ("",),
    "candor": ("",),
    "clamor": ("", "s", "ed", "ing"),
    "demeanor": ("", "s"),
    "endeavor": ("", "s", "ed", "ing"),
    "fervor": ("",),
    "parlor": ("", "s"),
    "rancor": ("",),
    "savor": ("", "s", "ed", "ing", "y"),
    "saviour": (),  # handled below: savior is its own word
    "succor": ("", "s", "ed"),
    "arbor": ("", "s"),
    "tremor": (),  # same in both
}
_OR_WORDS = {k: v for k, v in _OR_WORDS.items() if v}
_OR_EXTRA = {
    "savior": "saviour",
    "saviors": "saviours",
    "mold": "mould",
    "molds": "moulds",
    "molded": "moulded",
    "molding": "moulding",
    "moldy": "mouldy",
    "smolder": "smoulder",
    "smoldering": "smouldering",
    "molt": "moult",
    "molting": "moulting",
}

# American "-ize" verbs -> British "-ise"; each gets ize/izes/ized/izing and, where
# listed, the -ization noun.
_IZE_STEMS = _words(
    "organ apolog real recogn critic emphas memor special civil character summar "
    "author util minim maxim optim priorit categor familiar fertil harmon hospital "
    "ideal industrial jeopard legal liberal material mobil modern natural neutral "
    "normal patron penal polar popular private public rational real sanit scrutin "
    "sensit standard stabil steril symbol sympath synchron tantal terror theor "
    "tranquil trivial urban vandal vapor visual vocal western colon custom "
    "dramat econom energ equal final fossil global human ion lion local magnet "
    "mechan mesmer moral neutral ostrac galvan agon antagon baptiz capital central "
    "computer democrat digit fantas formal general hypnot immun initial italic "
    "journal lexical marginal metabol militar monopol motor national oxid "
    "pasteur person plagiar polit pressur radical random rational reorgan revital "
    "romantic satir scandal secular signal solemn spiritual subsid summar "
    "temporal tenderiz textual vital vulgar"
)
_IZE_NOUN = frozenset(
    _words(
        "organ real civil character author util minim maxim optim priorit categor "
        "fertil harmon hospital ideal industrial legal liberal material mobil modern "
        "natural neutral normal polar popular private public rational sanit sensit "
        "standard stabil steril synchron urban visual vocal western colon custom "
        "dramat global human local magnet mechan capital central democrat digit "
        "formal general immun initial monopol motor national oxid person radical "
        "reorgan revital secular temporal vulgar"
    )
)
_ISE_EXCEPTIONS = frozenset({"baptiz", "tenderiz"})

# American "-yze" -> British "-yse".
_YZE_STEMS = ("anal", "paral", "catal", "dial", "electrol", "hydrol", "psychoanal")

# American "-er" -> British "-re".
_ER_WORDS: dict[str, tuple[str, ...]] = {
    "center": ("", "s", "ed", "ing", "piece", "fold"),
    "theater": ("", "s", "goer", "goers"),
    "meter": ("", "s"),
    "kilometer": ("", "s"),
    "centimeter": ("", "s"),
    "millimeter": ("", "s"),
    "liter": ("", "s"),
    "fiber": ("", "s", "glass"),
    "caliber": ("", "s"),
    "saber": ("", "s"),
    "somber": ("", "ly"),
    "specter": ("", "s"),
    "scepter": ("", "s"),
    "luster": ("", "less"),
    "meager": ("", "ly"),
    "miter": ("", "s"),
    "ocher": ("",),
    "saltpeter": ("",),
    "sepulcher": ("", "s"),
    "maneuver": ("", "s", "ed", "ing"),
}

# Doubled "l" in British before a suffix.
_LL_WORDS = _words(
    "travel cancel model label level marvel fuel jewel duel channel counsel dial "
    "equal funnel grovel libel panel pedal quarrel rival shovel signal snorkel "
    "spiral swivel total towel tunnel yodel unravel imperil initial pencil refuel "
    "enamel kennel gambol revel bevel chisel"
)
_LL_SUFFIXES = ("ed", "ing", "er", "ers")

_SINGLE_PAIRS: dict[str, str] = {
    # -ence / -ense, -ogue / -og, -ae- / -oe-, and assorted single words
    "defense": "defence",
    "defenses": "defences",
    "offense": "offence",
    "offenses": "offences",
    "pretense": "pretence",
    "license": "licence",
    "licenses": "licences",
    "catalog": "catalogue",
    "catalogs": "catalogues",
    "dialog": "dialogue",
    "dialogs": "dialogues",
    "analog": "analogue",
    "monolog": "monologue",
    "epilog": "epilogue",
    "prolog": "prologue",
    "anemia": "anaemia",
    "anemic": "anaemic",
    "anesthesia": "anaesthesia",
    "anesthetic": "anaesthetic",
    "archeology": "archaeology",
    "encyclopedia": "encyclopaedia",
    "encyclopedias": "encyclopaedias",
    "esthetic": "aesthetic",
    "fetus": "foetus",
    "hemorrhage": "haemorrhage",
    "leukemia": "leukaemia",
    "maneuvers": "manoeuvres",
    "maneuver": "manoeuvre",
    "maneuvered": "manoeuvred",
    "maneuvering": "manoeuvring",
    "orthopedic": "orthopaedic",
    "pediatric": "paediatric",
    "pediatrician": "paediatrician",
    "diarrhea": "diarrhoea",
    "estrogen": "oestrogen",
    "edema": "oedema",
    "gray": "grey",
    "grays": "greys",
    "grayish": "greyish",
    "grayer": "greyer",
    "program": "programme",
    "programs": "programmes",
    "check": "cheque",
    "checks": "cheques",
    "tire": "tyre",
    "tires": "tyres",
    "curb": "kerb",
    "curbs": "kerbs",
    "plow": "plough",
    "plows": "ploughs",
    "plowed": "ploughed",
    "plowing": "ploughing",
    "plowman": "ploughman",
    "draft": "draught",
    "drafts": "draughts",
    "pajamas": "pyjamas",
    "mustache": "moustache",
    "mustaches": "moustaches",
    "aluminum": "aluminium",
    "airplane": "aeroplane",
    "airplanes": "aeroplanes",
    "skeptic": "sceptic",
    "skeptical": "sceptical",
    "skepticism": "scepticism",
    "jewelry": "jewellery",
    "judgment": "judgement",
    "judgments": "judgements",
    "acknowledgment": "acknowledgement",
    "aging": "ageing",
    "artifact": "artefact",
    "artifacts": "artefacts",
    "ax": "axe",
    "cozy": "cosy",
    "cozier": "cosier",
    "donut": "doughnut",
    "donuts": "doughnuts",
    "enroll": "enrol",
    "enrollment": "enrolment",
    "fulfill": "fulfil",
    "fulfillment": "fulfilment",
    "instill": "instil",
    "installment": "instalment",
    "skillful": "skilful",
    "skillfully": "skilfully",
    "willful": "wilful",
    "willfully": "wilfully",
    "distill": "distil",
    "mom": "mum",
    "moms": "mums",
    "story": "storey",
    "sulfur": "sulphur",
    "sulfate": "sulphate",
    "yogurt": "yoghurt",
    "whiskey": "whisky",
    "practice": "practise",
    "practiced": "practised",
    "practicing": "practising",
    "practices": "practises",
    "toward": "towards",
    "afterward": "afterwards",
    "spelled": "spelt",
    "learned": "learnt",
    "burned": "burnt",
    "dreamed": "dreamt",
    "leaped": "leapt",
    "spilled": "spilt",
    "spoiled": "spoilt",
    "smelled": "smelt",
    "kneeled": "knelt",
    "dwelled": "dwelt",
    "woolen": "woollen",
    "woolens": "woollens",
    "worshiped": "worshipped",
    "worshiping": "worshipping",
    "worshiper": "worshipper",
    "kidnaped": "kidnapped",
    "carburetor": "carburettor",
    "gage": "gauge",
    "vise": "vice",
}
# Pairs left out: the British form is also a different word or an accepted American
# variant (storey, cheque, draught, spelt, towards, mum, axe, whisky, ...).
_AMBIGUOUS = frozenset(
    {
        "story",
        "check",
        "checks",
        "draft",
        "drafts",
        "mom",
        "moms",
        "toward",
        "afterward",
        "spelled",
        "learned",
        "burned",
        "dreamed",
        "leaped",
        "spilled",
        "spoiled",
        "smelled",
        "kneeled",
        "dwelled",
        "gage",
        "vise",
        "ax",
        "whiskey",
    }
)


def _or_pairs() -> dict[str, str]:
    pairs = {}
    for stem, suffixes in _OR_WORDS.items():
        british = stem[:-2] + "our"
        for suffix in suffixes:
            pairs[british + suffix] = stem + suffix
    pairs.update({b: a for a, b in _OR_EXTRA.items()})
    return pairs


def _ize_pairs() -> dict[str, str]:
    pairs = {}
    for stem in _IZE_STEMS:
        if stem in _ISE_EXCEPTIONS:
            continue
        for a_suffix, b_suffix in (
            ("ize", "ise"),
            ("izes", "ises"),
            ("ized", "ised"),
            ("izing", "ising"),
            ("izer", "iser"),
            ("izers", "isers"),
        ):
            pairs[stem + b_suffix] = stem + a_suffix
        if stem in _IZE_NOUN:
            pairs[stem + "isation"] = stem + "ization"
            pairs[stem + "isations"] = stem + "izations"
    for stem in _YZE_STEMS:
        for a_suffix, b_suffix in (
            ("yze", "yse"),
            ("yzes", "yses"),
            ("yzed", "ysed"),
            ("yzing", "ysing"),
            ("yzer", "yser"),
        ):
            pairs[stem + b_suffix] = stem + a_suffix
    return pairs


def _er_pairs() -> dict[str, str]:
    pairs = {}
    for stem, suffixes in _ER_WORDS.items():
        british = stem[:-2] + "re"
        for suffix in suffixes:
            if suffix in ("ed", "ing"):
                pairs[british[:-1] + suffix] = stem + suffix  # centred, centring
            else:
                pairs[british + suffix] = stem + suffix
    return pairs


def _ll_pairs() -> dict[str, str]:
    pairs = {}
    for stem in _LL_WORDS:
        for suffix in _LL_SUFFIXES:
            pairs[stem + "l" + suffix] = stem + suffix
    return pairs


@lru_cache(maxsize=1)
def british_to_american() -> dict[str, str]:
    """The lookup table ``{british_spelling: american_spelling}`` (lower-case words)."""
    table: dict[str, str] = {}
    for part in (_or_pairs(), _ize_pairs(), _er_pairs(), _ll_pairs()):
        table.update(part)
    table.update({b: a for a, b in _SINGLE_PAIRS.items() if a not in _AMBIGUOUS})
    return {
        british: american for british, american in table.items() if british != american
    }
