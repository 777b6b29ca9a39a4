"""The synthetic world's words, shared by every suite: names, places, organisations, objects, filler
narrative, the classification topics and the story events.

Within each value pool no word is a substring of another (tests check it), so no value of an attribute
contains another value of the same attribute.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Mira", "Tobias", "Alice", "Bram", "Celeste", "Dorian", "Elspeth", "Farid", "Greta", "Hugo",
    "Ingrid", "Jonas", "Kaveh", "Leona", "Matteo", "Nadia", "Oskar", "Priya", "Quentin", "Rosalind",
    "Soren", "Thea", "Ulrich", "Vera", "Wendell", "Ximena", "Yusuf", "Zora", "Anselm", "Beatrix",
    "Cyrus", "Delphine", "Emeric", "Fiona", "Gideon", "Hollis", "Isolde", "Jasper", "Kirsten", "Lucius",
    "Marguerite", "Nikolai", "Odile", "Percival", "Rhea", "Silas", "Tamsin", "Viggo", "Wilhelmina",
    "Yara", "Zeno", "Amara", "Bastian", "Cosima", "Dmitri", "Esme", "Florian", "Gwendolyn", "Horatio",
    "Imogen", "Joaquin", "Katya", "Lorcan", "Maren", "Niamh", "Orla", "Piet", "Ravi", "Saoirse",
    "Teodor", "Valentin", "Yann", "Zuri", "Agnes", "Benedikt", "Clementine", "Edmund", "Felix",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Moreau", "Lindqvist", "Castellan", "Abernathy", "Brightwater", "Calloway", "Dufresne",
    "Eriksen", "Fairweather", "Halvorsen", "Ishikawa", "Jablonski", "Kowalczyk", "Lachance", "Montague",
    "Nakamura", "Oyelaran", "Pemberton", "Quennell", "Rasmussen", "Sandoval", "Thornbury", "Underhill",
    "Vasquez", "Whitlock", "Yamamoto", "Zielinski", "Achterberg", "Blackwood", "Cardenas", "Delacroix",
    "Ellingsen", "Fontaine", "Grimaldi", "Hargreaves", "Iversen", "Jovanovic", "Kettering", "Lockhart",
    "Marchetti", "Novak", "Ostrowski", "Petrakis", "Rourke", "Tanaka", "Valdivia", "Wexley", "Yilmaz",
    "Zamora", "Ashdown", "Bellamy", "Corrigan", "Drummond", "Everhart", "Farrow", "Gallagher",
    "Holloway", "Ingram", "Kinsella", "Larkspur", "Merriweather", "Northcott", "Oduya", "Prescott",
    "Quayle", "Renwick", "Stavros", "Trevelyan", "Voskuijlen", "Winslow", "Mbeki", "Saarinen",
    "Haddad", "Rinaldi", "Kuznetsov", "Lefebvre", "Osei",
)  # fmt: skip
PLACE_ROOTS = (
    "Calder", "Senna", "Marrow", "Wyck", "Ember", "Thistle", "Bracken", "Oriel", "Hadley", "Corwen",
    "Asterly", "Bellmere", "Dunmore", "Fallow", "Greyholt", "Kestrel", "Larch", "Myrtle", "Norwood",
    "Ostler", "Pellham", "Ravel", "Tarn", "Umber", "Vintry", "Wolde", "Yarrow", "Zephyr", "Quillon",
    "Juniper",
)  # fmt: skip
PLACE_FORMS = ("{} Heights", "{} Hollow", "{} Crossing", "{} Reach", "Port {}", "{} Vale", "{} Landing", "{} Green")
ORG_ROOTS = (
    "Lantern", "Meridian", "Cobalt", "Granite", "Beacon", "Silverline", "Northwind", "Ironbark", "Foxglove",
    "Bluewater", "Redfern", "Highgate", "Stonebridge", "Wildrose", "Goldleaf", "Oakhurst", "Kingfisher",
    "Starling", "Tidewater", "Harrowgate",
)  # fmt: skip
ORG_KINDS = ("Guild", "Society", "Company", "Institute", "Trust", "Academy", "Bank", "Press")
MATERIALS = (
    "Copper", "Iron", "Silver", "Golden", "Crimson", "Azure", "Ivory", "Obsidian", "Jade", "Marble",
    "Cedar", "Pewter", "Scarlet", "Onyx", "Gilded", "Rusted", "Sunken", "Eastern", "Western", "Northern",
    "Southern", "Painted", "Whispering", "Broken",
)  # fmt: skip
OBJECT_KINDS = ("Gate", "Vault", "Tower", "Bridge", "Archive", "Lighthouse", "Mill", "Chapel", "Observatory", "Cistern")

# Filler narrative. It never uses the words of a fact template ("access", "code", "guards", "located",
# "employer", "born", "founded", "lives", "works", "keeper"), so only facts answer fact questions.
WEATHER = ("fog", "rain", "frost", "heat", "wind", "drizzle", "snow", "hail")
GOODS = ("apples", "wool", "salt", "lamp oil", "barley", "cheese", "nails", "candles", "herring", "rope")
TERRAIN = ("river path", "ridge", "orchard", "marsh road", "sea wall", "old quarry", "birch wood", "meadow")
TREES = ("oak", "willow", "chestnut", "yew", "linden", "pear tree")
ANIMALS = ("goat", "heron", "stray dog", "donkey", "fox", "pair of geese")
TIMES = ("morning", "afternoon", "evening", "night")
SEASONS = ("spring", "summer", "autumn", "winter")
ROLES = (
    "the miller", "a fisherman", "an old sailor", "the schoolteacher", "a young clerk", "the baker",
    "a shepherd", "the ferryman", "a widow from the hills", "the blacksmith", "a pedlar", "the priest",
)  # fmt: skip
WORLD_FILLER = (
    "{p} walked along the {terrain} toward {place} while the {weather} settled in.",
    "In {place} the market opened late, and the stalls sold {goods} until dusk.",
    "Nobody in {place} could remember who first planted the {tree} beside the {terrain}.",
    "{p} wrote a long letter about the {weather} and never sent it.",
    "The {weather} lasted {n} days, and most families in {place} stayed indoors.",
    "A traveller from {place} traded {goods} for {n} coins at the crossroads.",
    "{p} spent the {time} mending a fence near the {terrain}.",
    "Every {season} the children of {place} raced each other to the {terrain} and back.",
    "The road between {place} and {place2} was muddy again after the {weather}.",
    "{p} and {p2} argued about the price of {goods} over a slow dinner.",
    "Some said the {tree} by the {terrain} was older than {place} itself.",
    "A {animal} wandered into the square of {place} and nobody claimed it.",
    "{p} kept a small notebook of birds seen along the {terrain}.",
    "The bells of {place} rang twice in the {time} for reasons no one explained.",
    "In the {season}, {p} repaired boats for anyone who asked politely.",
    "{p} learned to bake bread from a neighbour in {place}.",
    "The inn at {place} served {goods} stew on cold evenings.",
    "Few visitors stayed in {place} for more than {n} nights.",
    "{p} sketched the view of the {terrain} from memory.",
    "It was the {weather} that {p} remembered best about that {season}.",
    "{p} carried a basket of {goods} up the hill to {place}.",
    "Travellers from {place2} often stopped at {place} to rest their horses.",
)


def _people() -> list[str]:
    return [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]


def _places() -> list[str]:
    return [form.format(root) for root in PLACE_ROOTS for form in PLACE_FORMS]


def _orgs() -> list[str]:
    return [f"{root} {kind}" for root in ORG_ROOTS for kind in ORG_KINDS]


def _objects() -> list[str]:
    return [f"{material} {kind}" for material in MATERIALS for kind in OBJECT_KINDS]


# topic -> (nouns, past-tense verbs, adjectives); no word is shared between topics.
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "cooking": (
        ("saucepan", "garlic", "oven", "dough", "recipe", "skillet", "broth", "pastry", "ladle", "butter",
         "onion", "kitchen"),
        ("simmered", "kneaded", "seasoned", "roasted", "whisked", "baked"),
        ("crispy", "savory", "buttery", "tender", "spicy", "caramelized"),
    ),
    "sailing": (
        ("mast", "hull", "anchor", "tide", "rudder", "sail", "deck", "keel", "compass", "mooring", "voyage",
         "jib"),
        ("steered", "moored", "hoisted", "anchored", "tacked", "navigated"),
        ("windward", "salty", "nautical", "choppy", "coastal", "leeward"),
    ),
    "astronomy": (
        ("telescope", "comet", "orbit", "nebula", "planet", "galaxy", "meteor", "eclipse", "constellation",
         "asteroid", "observatory", "starlight"),
        ("observed", "charted", "tracked", "measured", "photographed", "catalogued"),
        ("celestial", "distant", "lunar", "stellar", "faint", "cosmic"),
    ),
    "gardening": (
        ("tulip", "compost", "seedling", "trowel", "hedge", "greenhouse", "fertilizer", "rosebush", "soil",
         "mulch", "flowerbed", "shears"),
        ("pruned", "planted", "watered", "weeded", "repotted", "raked"),
        ("leafy", "blooming", "fragrant", "overgrown", "shady", "fertile"),
    ),
    "finance": (
        ("invoice", "ledger", "dividend", "mortgage", "portfolio", "interest", "loan", "budget", "audit",
         "shares", "bond", "tax"),
        ("audited", "invested", "borrowed", "refinanced", "balanced", "deducted"),
        ("fiscal", "quarterly", "profitable", "overdue", "annual", "monetary"),
    ),
    "medicine": (
        ("patient", "fever", "diagnosis", "prescription", "clinic", "surgeon", "bandage", "vaccine",
         "symptom", "nurse", "stethoscope", "infection"),
        ("treated", "diagnosed", "bandaged", "vaccinated", "examined", "prescribed"),
        ("clinical", "chronic", "feverish", "sterile", "acute", "medical"),
    ),
    "music": (
        ("violin", "melody", "orchestra", "chord", "rhythm", "piano", "conductor", "symphony", "tempo",
         "choir", "guitar", "drum"),
        ("tuned", "rehearsed", "composed", "strummed", "conducted", "harmonized"),
        ("melodic", "acoustic", "rhythmic", "harmonic", "choral", "orchestral"),
    ),
    "mining": (
        ("ore", "shaft", "pickaxe", "tunnel", "quarry", "coal", "drill", "seam", "mineral", "cart",
         "dynamite", "helmet"),
        ("excavated", "drilled", "blasted", "hauled", "tunneled", "dug"),
        ("underground", "rocky", "dusty", "deep", "subterranean", "sooty"),
    ),
    "weaving": (
        ("loom", "thread", "wool", "spindle", "fabric", "yarn", "tapestry", "needle", "shuttle", "cloth",
         "silk", "pattern"),
        ("wove", "spun", "stitched", "knitted", "dyed", "embroidered"),
        ("woolen", "silken", "threadbare", "colorful", "handwoven", "frayed"),
    ),
    "football": (
        ("goal", "striker", "referee", "penalty", "stadium", "midfielder", "ball", "tackle", "goalkeeper",
         "match", "pitch", "league"),
        ("scored", "tackled", "dribbled", "kicked", "defended", "passed"),
        ("offside", "athletic", "competitive", "defensive", "fast", "energetic"),
    ),
    "railway": (
        ("locomotive", "platform", "timetable", "carriage", "signal", "track", "stationmaster", "junction",
         "ticket", "engine", "rails", "freight"),
        ("departed", "shunted", "coupled", "boarded", "whistled", "rerouted"),
        ("punctual", "express", "steam", "delayed", "overnight", "narrow-gauge"),
    ),
    "chess": (
        ("bishop", "knight", "pawn", "rook", "checkmate", "gambit", "opening", "endgame", "tournament",
         "board", "queen", "castling"),
        ("sacrificed", "castled", "captured", "promoted", "blundered", "resigned"),
        ("tactical", "positional", "strategic", "decisive", "blitz", "grandmaster"),
    ),
}  # fmt: skip
SUBJECTS = (
    "my neighbour",
    "the teacher",
    "a stranger",
    "our team",
    "the old man",
    "my sister",
    "the new intern",
    "everyone",
)
# Every template carries five topic words (two nouns, a verb, an adjective, a third noun) and few
# generic ones, so examples of a class share vocabulary but no two are alike.
SAMPLE_TEMPLATES = (
    "{subj} {verb} the {adj} {noun} before the {noun2} and the {noun3} were ready.",
    "After lunch, {subj} {verb} a {adj} {noun} and talked about the {noun2} and the {noun3}.",
    "The {noun} looked {adj} once {subj} {verb} the {noun2} with the {noun3}.",
    "Yesterday {subj} {verb} the {noun}, then checked the {adj} {noun2} and the {noun3}.",
    "{subj} {verb} the {adj} {noun}, and later the {noun2} and the {noun3} as well.",
    "Nobody expected that {subj} {verb} the {noun} next to the {adj} {noun2} and {noun3}.",
)

EVENT_ROOTS = (
    "Saltmarsh", "Harrow", "Greyfell", "Ashcombe", "Varnholt", "Odell", "Brindle", "Cresswell", "Dunlow",
    "Fenwick", "Gorsedd", "Kilbride", "Lowmoor", "Merrow", "Penhallow", "Rookhaven", "Stonecrop",
    "Wychwood",
)  # fmt: skip
# event kind -> (the sentence that introduces it, with {e} = "the <Root> <kind>", {a}, {b} characters).
EVENTS = {
    "flood": "In the wet year came {e}, and {a} carried neighbours to the hills on a borrowed cart.",
    "treaty": "{a} and {b} stood in the town hall as {e} was signed, ending years of quarrels over the land.",
    "fire": "{e} began in a bakery at night, and {a} organised the bucket lines until dawn.",
    "famine": "During {e} the granaries stood empty, and {a} shared the last sacks of grain.",
    "rebellion": "{e} broke out when the tax collectors returned, and {a} spoke for the rebels.",
    "eclipse": "On the day of {e} the sky went dark at noon, and {a} calmed the frightened crowd.",
    "duel": "{a} faced {b} at sunrise in {e}, and neither of them ever spoke of it plainly.",
    "wedding": "{e} joined {a} and {b}, and the whole town danced for three nights.",
    "election": "{a} stood against {b} in {e} and won by a handful of votes.",
    "plague": "{e} emptied the streets for a season, and {a} nursed the sick without rest.",
    "shipwreck": "{e} left the harbour strewn with timber, and {a} rowed out to find survivors.",
    "strike": "{e} shut the mills for a month, and {b} carried the workers' demands to the owners.",
    "trial": "At {e}, {a} testified against {b} before a packed courtroom.",
    "exile": "After {e}, {b} left the town on foot and did not return for years.",
}
EVENT_ECHOES = (
    "Long after {e}, {a} still dreamed about it.",
    "In the weeks after {e}, {a} and {b} rarely spoke of anything else.",
    "{e} changed how the people of {town} saw {a}.",
    "Children in {town} made up songs about {e}.",
)
STORY_FILLER = (
    "{a} spent the {time} mending nets by the {terrain}.",
    "{a} and {b} walked to the market in {town} and bought {goods}.",
    "The {weather} kept {a} indoors, reading old letters by the fire.",
    "{m} asked {a} for advice about a quarrel with a neighbour.",
    "{a} visited {m}, who lived at the edge of {town}, and stayed for supper.",
    "Every {season} {a} climbed the {terrain} to look out over {town}.",
    "{b} teased {a} about a lost bet, and they both laughed.",
    "{m} sold {goods} to {a} at a price that was almost fair.",
    "{a} wrote in a diary that the {weather} would not last.",
    "The streets of {town} were quiet in the {time}, and {a} liked them that way.",
    "{a} fed a {animal} that had wandered into the yard.",
    "{m} told {a} a story about the {tree} by the {terrain}.",
    "{a} and {m} repaired the roof of the old school before the {weather} came.",
    "Nobody in {town} baked bread like {b}, or so {a} always said.",
)
SUMMARY_QUESTIONS = (
    ("Summarize the story: who are the main characters and what were the major events?", "all"),
    ("What were the major events of the story, in order?", "events"),
    ("Who are the main characters of the story?", "characters"),
)

# --------------------------------------------------------------------------------------------------
# Suite v1 additions (used by memenv.tasks.synthetic.v1 only)
# --------------------------------------------------------------------------------------------------

# Descriptions that stand for a person in a coreference ("the clockmaker's home town is ..."); none is a
# word of the filler (ROLES) or of a fact template, and each is used for one person per episode.
DESCRIPTIONS = (
    "clockmaker", "cartographer", "glassblower", "bookbinder", "apothecary", "harbour pilot", "bellfounder",
    "lamplighter", "stonemason", "cooper", "chandler", "saddler", "locksmith", "engraver", "ropemaker",
    "potter", "tinsmith", "furrier", "wheelwright", "falconer", "vintner", "perfumer", "cobbler",
    "organ builder", "mapmaker", "glazier", "hatter", "tanner", "weaver of sails", "bell ringer",
)  # fmt: skip
# Six more classification topics for suite v1 (no word shared with TOPICS or with each other).
TOPICS_V1_EXTRA: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "pottery": (
        ("clay", "kiln", "glaze", "wheel", "vase", "urn", "bisque", "pitcher", "crock", "jug", "porcelain",
         "slipware"),
        ("fired", "glazed", "sculpted", "molded", "trimmed", "burnished"),
        ("earthen", "glossy", "unglazed", "terracotta", "speckled", "crackled"),
    ),
    "beekeeping": (
        ("hive", "honey", "beeswax", "comb", "smoker", "apiary", "nectar", "pollen", "swarm", "drone",
         "frame", "veil"),
        ("smoked", "harvested", "extracted", "swarmed", "requeened", "pollinated"),
        ("waxy", "sticky", "buzzing", "floral", "amber", "hexagonal"),
    ),
    "photography": (
        ("camera", "lens", "shutter", "tripod", "darkroom", "negative", "aperture", "flash", "portrait",
         "exposure", "film", "viewfinder"),
        ("focused", "developed", "exposed", "framed", "zoomed", "printed"),
        ("blurry", "monochrome", "candid", "panoramic", "grainy", "overexposed"),
    ),
    "carpentry": (
        ("plank", "chisel", "lathe", "sawdust", "mallet", "dovetail", "joist", "timber", "workbench", "plane",
         "hinge", "varnish"),
        ("sawed", "sanded", "planed", "chiseled", "hammered", "glued"),
        ("wooden", "splintered", "sturdy", "knotty", "oaken", "varnished"),
    ),
    "brewing": (
        ("hops", "malt", "barrel", "cask", "yeast", "wort", "mash", "ale", "tankard", "fermenter", "keg",
         "brewery"),
        ("brewed", "fermented", "mashed", "bottled", "tapped", "malted"),
        ("hoppy", "frothy", "bitter", "malty", "fizzy", "cloudy"),
    ),
    "archery": (
        ("arrow", "quiver", "bowstring", "target", "fletching", "longbow", "bullseye", "archer", "crossbow",
         "arrowhead", "bracer", "butts"),
        ("aimed", "loosed", "fletched", "strung", "nocked", "shot"),
        ("taut", "accurate", "feathered", "steady", "longranged", "recurved"),
    ),
}  # fmt: skip
# A phrase that names an event's circumstances without its name (the cause in "X led to Y" sentences).
EVENT_DESCRIPTIONS = {
    "flood": "the rising water of the wet year",
    "treaty": "the signing in the town hall",
    "fire": "the night the bakery burned",
    "famine": "the months of empty granaries",
    "rebellion": "the uprising against the tax collectors",
    "eclipse": "the day the sky went dark at noon",
    "duel": "the meeting at sunrise",
    "wedding": "the three nights of dancing",
    "election": "the vote won by a handful",
    "plague": "the sickness that emptied the streets",
    "shipwreck": "the timber strewn across the harbour",
    "strike": "the month the mills stood silent",
    "trial": "the packed courtroom",
    "exile": "the departure on foot",
}
