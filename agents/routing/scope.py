"""What is *not* for any of an account's agents: small talk, chit-chat, off-topic and gibberish.

Two layers, both offline:

1. patterns for the conversational formulas (a message made only of a greeting, thanks or goodbye,
   or an acknowledgement such as "ok great"), and a gibberish test for unintelligible input.
   These are sure, so they decide alone;
2. everything else goes to the router's classifier, which learns two extra classes from the
   examples below (chit-chat, off-topic) next to the agents' own routing examples, so "out of
   scope" gets a probability from the same softmax as the agents.

The examples are general-purpose phrasings of the kinds of things people type into a support chat
that no ITSM agent should handle; they are not written against any evaluation file.
"""

from __future__ import annotations

import re

GREETING = "greeting"
THANKS = "thanks"
FAREWELL = "farewell"
CHIT_CHAT = "chit_chat"
OFF_TOPIC = "off_topic"
UNINTELLIGIBLE = "unintelligible"
# A user who asks for a person goes to the operator queue, however the message is worded.
ASKS_FOR_PERSON = re.compile(
    r"\b(?:talk|speak|chat|get through)\s+(?:to|with)\s+(?:a|an|some|your)?\s*"
    r"(?:human|person|real person|operator|someone|somebody|representative|live agent|support engineer)\b"
    r"|\b(?:want|need|get me|give me)\s+(?:a|an)?\s*(?:human|real person|person|operator)\b"
    r"|\b(?:human|real person|operator)\s*,?\s*please\b"
    r"|\bescalate (?:this|it|my)\b",
    re.IGNORECASE,
)

SMALL_TALK_KINDS = frozenset({GREETING, THANKS, FAREWELL, CHIT_CHAT})
KINDS = (GREETING, THANKS, FAREWELL, CHIT_CHAT, OFF_TOPIC, UNINTELLIGIBLE)

# The classifier's pseudo-agents; no agent slug can contain a colon.
CLASS_PREFIX = "oos:"

_FILLER = r"(?:\s*(?:,|!|\.|\?|:\)|:-\)|;\)|\bso much\b|\bvery much\b|\ba lot\b|\bagain\b|\bguys\b|\bteam\b|"
_FILLER += r"\bfolks\b|\ball\b|\bthere\b|\beveryone\b|\bbot\b|\bfriend\b|\bmate\b|\bbuddy\b|\bman\b)\s*)*"

_GREETING_WORDS = (
    r"hi+|hello+|hey+|heya|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day)|morning|"
    r"hallo|bonjour|hola|salut|ciao|what'?s up|sup|how are (?:you|u)(?: doing)?(?: today)?|"
    r"how'?s it going|how do you do|nice to meet you|anyone (?:there|home)|is anyone there|"
    r"are you there|hello world|hi there"
)
_THANKS_WORDS = (
    r"thanks?(?: you)?|thank u|thx|ty|tysm|cheers|much appreciated|appreciate it|"
    r"that(?:'s| is| was) (?:great|helpful|perfect|useful|all|it)|(?:very )?helpful|"
    r"ok(?:ay)?|k|kk|cool|great|nice|awesome|perfect|brilliant|excellent|lovely|got it|understood|"
    r"makes sense|sounds good|fine|alright|all right|good|noted|yes|yep|yeah|no|nope|sure|"
    r"(?:that )?works for me|👍|🙏|😊|🙂"
)
_FAREWELL_WORDS = (
    r"bye+|goodbye|good bye|bye bye|see (?:you|ya)(?: later| soon)?|later|cya|take care|"
    r"have a (?:good|nice|great) (?:day|one|evening|weekend)|good ?night|ttyl|that'?s all(?: for now)?|"
    r"i'?m done|nothing else|no more questions"
)


def _formula(words: str) -> re.Pattern[str]:
    return re.compile(rf"^\W*(?:(?:{words}){_FILLER}\s*)+$", re.IGNORECASE)


_ONLY_GREETING = _formula(_GREETING_WORDS)
_ONLY_THANKS = _formula(_THANKS_WORDS)
_ONLY_FAREWELL = _formula(_FAREWELL_WORDS)
_ONLY_SOCIAL = _formula(f"{_GREETING_WORDS}|{_THANKS_WORDS}|{_FAREWELL_WORDS}")
_FAREWELL_ANYWHERE = re.compile(rf"\b(?:{_FAREWELL_WORDS})\b", re.IGNORECASE)
_THANKS_ANYWHERE = re.compile(r"\b(?:thanks?|thank u|thx|cheers|appreciate)\b", re.IGNORECASE)
_GREETING_ANYWHERE = re.compile(rf"^\W*(?:{_GREETING_WORDS})\b", re.IGNORECASE)

_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_VOWELS = set("aeiouyäöüéèáàíóú")


_BARE_ANSWER = re.compile(
    r"^\W*(?:yes|yep|yeah|yup|no|nope|sure|ok(?:ay)?|go ahead|do it|please do|yes please|no thanks?)\W*$",
    re.IGNORECASE,
)


def is_bare_answer(text: str) -> bool:
    """ "yes", "no", "go ahead": small talk at the start of a conversation, but later it may answer
    the agent's question, so the agent should read it."""
    return bool(_BARE_ANSWER.match(text or ""))


def asks_for_person(text: str) -> bool:
    return bool(ASKS_FOR_PERSON.search(text or ""))


def formula_kind(text: str) -> str | None:
    """greeting, thanks or farewell when the whole message is one of those formulas, else None."""
    text = (text or "").strip()
    if not text or len(text) > 80:
        return None
    if _ONLY_GREETING.match(text):
        return GREETING
    if _ONLY_FAREWELL.match(text):
        return FAREWELL
    if _ONLY_THANKS.match(text):
        return THANKS
    if _ONLY_SOCIAL.match(text):  # "thanks, bye!", "hi, thanks"
        if _FAREWELL_ANYWHERE.search(text):
            return FAREWELL
        if _THANKS_ANYWHERE.search(text):
            return THANKS
        if _GREETING_ANYWHERE.search(text):
            return GREETING
        return THANKS
    return None


def is_unintelligible(text: str) -> bool:
    """Keyboard mashing, symbols only, or words with no vowels: nothing any agent could act on."""
    text = (text or "").strip()
    if not text:
        return True
    words = _TOKEN.findall(text)
    if not words:
        return True  # digits and punctuation only ("???", "1234")
    letters = sum(len(word) for word in words)
    if letters < 2:
        return True
    # A word of four or more letters without a vowel, or a very long unbroken run, is not language.
    # Long runs of consonants ("asdfghjkl", "kjhsdf") are mashing too; English words seldom have 6
    # ("strengths" has 5).
    odd = [
        w
        for w in words
        if not (w.isupper() and len(w) <= 6)  # acronyms: CMDB, HTTP, SMTP
        and (
            (len(w) >= 4 and not _VOWELS.intersection(w.lower()))
            or len(w) > 24
            or re.search(r"[^aeiouy\W\d_]{6,}", w.lower())
        )
    ]
    return sum(len(w) for w in odd) / letters > 0.5


CHIT_CHAT_EXAMPLES: tuple[str, ...] = (
    "how are you doing today?",
    "what's your name?",
    "are you a robot or a real person?",
    "are you human?",
    "who made you?",
    "do you have feelings?",
    "tell me a joke",
    "tell me something funny",
    "what's your favourite colour?",
    "do you like your job?",
    "I'm bored",
    "you're doing great",
    "you are useless",
    "you're pretty smart for a bot",
    "lol",
    "haha that's funny",
    "what are you up to?",
    "how old are you?",
    "where do you live?",
    "do you dream?",
    "can we just chat for a bit?",
    "I had a long day",
    "happy friday!",
    "merry christmas",
    "happy new year to the whole team",
    "what do you think about the meaning of life?",
    "do you have a boyfriend or girlfriend?",
    "sing me a song",
    "are you smarter than chatgpt?",
    "good job, bot",
    "I love you",
    "you're awesome, thanks for existing",
    "what's new with you?",
    "what can you do?",
    "what can you help me with?",
    "what are you able to do for me?",
    "who are you?",
    "what is this chat for?",
    "testing testing 123",
    "just testing",
    "this is a test",
    "can you hear me?",
    "how's your day going",
    "nice weather today isn't it",
    "I'm having a great day",
    "ugh mondays",
    "do you ever get tired?",
    "what languages do you speak?",
)

OFF_TOPIC_EXAMPLES: tuple[str, ...] = (
    "What's the weather going to be like in Paris tomorrow?",
    "Who won the football match last night?",
    "Can you recommend a good recipe for lasagna?",
    "How many calories are in a banana?",
    "What's the capital of Australia?",
    "Write me a poem about the sea.",
    "Translate 'good morning' into Japanese.",
    "What's 17 times 23?",
    "What is the square root of 144?",
    "Recommend a good movie to watch this weekend.",
    "Which Netflix series should I binge next?",
    "What's the best pizza place near me?",
    "How do I bake sourdough bread?",
    "How tall is the Eiffel Tower?",
    "Who was the first president of the United States?",
    "When did World War II end?",
    "Give me some tips for losing weight.",
    "What should I get my mum for her birthday?",
    "How do I fix a flat bicycle tyre?",
    "What's the best way to learn the guitar?",
    "Book me a flight to Barcelona next Friday.",
    "Find me a hotel in Rome for two nights.",
    "What time is it in Tokyo right now?",
    "Is it going to rain this afternoon?",
    "Who is the richest person in the world?",
    "How do I get rid of a headache?",
    "What's a good name for my new puppy?",
    "How long should I boil an egg?",
    "Tell me about the history of the Roman Empire.",
    "Explain the theory of relativity.",
    "What's the stock price of Apple today?",
    "Should I invest in bitcoin?",
    "Which is healthier, rice or pasta?",
    "Can you help me with my maths homework?",
    "Write an essay on climate change for my school assignment.",
    "What are the rules of chess?",
    "Plan a road trip through Scotland for me.",
    "How do I train my dog to sit?",
    "What's the best smartphone to buy this year for taking photos?",
    "What's the plot of Hamlet?",
    "How many planets are in the solar system?",
    "Suggest a cocktail with gin and lime.",
    "How do I grow tomatoes on a balcony?",
    "What's the best football team in Europe?",
    "Who sings the song Bohemian Rhapsody?",
    "How far is the moon from the earth?",
    "Can you order me a pizza?",
    "Help me write a birthday card for my colleague.",
    "What should I cook for dinner tonight?",
    "What's the difference between a crocodile and an alligator?",
    "What are some good exercises for back pain?",
    "Where should I go on holiday in August?",
    "How do I change a car tyre?",
    "Tell me a bedtime story about dragons.",
    "Who will win the next election?",
    "What's the speed of light?",
    "Give me a workout plan for the gym.",
    "How do I make cold brew coffee?",
    "Is a tomato a fruit or a vegetable?",
    "What's the population of Brazil?",
)

OUT_OF_SCOPE_EXAMPLES: dict[str, tuple[str, ...]] = {
    CHIT_CHAT: CHIT_CHAT_EXAMPLES,
    OFF_TOPIC: OFF_TOPIC_EXAMPLES,
}
