"""Pick which of an account's specialised agents should handle a user message.

Two multinomial logistic regressions, trained at construction on the agents' routing examples
(plus each agent's description), in a cascade:

1. *lexical*: TF-IDF of word 1-2 grams and character 2-5 grams, plus binary intent cues
   (``cues.py``: advice, artifact, action, problem, commercial and research vocabulary, whose
   mapping to agents the classifier learns from the examples). Under a millisecond. When it is
   sure (probability >= ``LEXICAL_CONFIDENT``), its decision stands;
2. *full*: the same features plus the message's MiniLM sentence embedding (meaning: robust to
   paraphrase and unseen vocabulary). Used for every message the lexical model is unsure of.

A message is embedded at most once per call; the softmax of the model that decided gives
``scores`` and ``confidence``. Nothing is cached across ``Router`` instances except the embedding
model itself (in ``agents.knowledge.embeddings``). Pure Python: no Django imports.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from agents.routing import scope
from agents.routing.cues import CUE_COUNT, cue_matrix, matched_cue_indices

Embedder = Callable[[list[str]], np.ndarray]

# Feature weights and regularisation, chosen by cross-validation over the demo examples
# (``eval_routing --cross-validate``); the classifiers learn everything else.
CUE_WEIGHT = 0.6
REGULARISATION_C = 10.0
# The lexical model decides alone at or above this probability. Cross-validated over the demo
# examples, the cascade is exactly as accurate as always embedding (0.974) for thresholds from 0.8
# up; 0.85 leaves a margin, and still skips the embedding for most plainly worded messages.
LEXICAL_CONFIDENT = 0.85

# A message is out of scope when the out-of-scope classes together get at least this probability.
OUT_OF_SCOPE_MIN = 0.5
# Softmax temperature applied to both models' logits, so that ``confidence`` is calibrated (the
# share of decisions at confidence c that are right is close to c). Measured with the expected
# calibration error over a labelled set (``eval_routing`` prints ``ece:``): the logistic regressions,
# trained on a few hundred examples, are under-confident at T=1 (ECE 0.11 on our held-out set of
# in- and out-of-scope queries, tests/agents/data/routing_heldout.jsonl); T=0.5 gives 0.02.
TEMPERATURE = 0.5
# The formulas and the gibberish test are rules, not estimates: this is what their decision is worth.
RULE_CONFIDENCE = 0.99

# detect_shift: how sure the router must be before it hands a conversation to another agent.
SHIFT_MIN_CONFIDENCE = 0.6
SHIFT_MIN_MARGIN = 0.35
SHIFT_MIN_WORDS = 4

# Acknowledgements that open a message ("ok,", "great, thanks."); what follows them is judged alone.
_ACKNOWLEDGEMENT = re.compile(
    r"^\W*(?:thanks?(?: you| a lot| so much)?|thx|ty|cheers|ok(?:ay)?|k|sure|yes|yep|yeah|no|nope|great|"
    r"perfect|cool|nice|awesome|got it|understood|makes sense|sounds good|right|alright|fine|good)"
    r"(?!\w)[\W_]*",
    re.IGNORECASE,
)
# Messages that only make sense against the conversation so far.
_FOLLOW_UP = re.compile(
    r"^\W*(?:"
    r"do (?:that|it|this)|go (?:ahead|on)|continue|proceed|"
    r"what about|how about|and (?:the|what|how|if|then)|the (?:first|second|third|last|other|next) one|"
    r"(?:can|could|would) you (?:explain|elaborate|clarify|expand|say more|go into more|give an example)|"
    r"explain (?:more|further|that|this|it)|tell me more|more (?:detail|details|info)|elaborate|"
    r"why\W*$|why not|really|hmm+|what do you mean|which one|same (?:for|with|here)|again|"
    r"what (?:else|next)|anything else|is that (?:all|it)"
    r")(?!\w)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w'$€£%-]+")
_PRONOUNS = frozenset(["it", "that", "this", "those", "these", "them", "they", "its"])
# Words that carry no intent of their own: a follow-up made only of these refers to what came before.
_DEICTIC = frozenset(
    {
        *("it", "that", "this", "those", "these", "them", "they", "its", "one", "ones"),
        *("the", "a", "an", "and", "or", "to", "do", "please", "ok", "okay", "yes", "so", "then"),
        *("same", "again", "more", "also", "too", "what", "about", "how", "why", "now", "just", "still"),
        *("can", "could", "would", "you", "me", "us", "we", "i"),
    }
)


@dataclass(frozen=True)
class AgentProfile:
    slug: str
    name: str
    description: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class RouteDecision:
    agent: str  # slug of the chosen agent (when out of scope: the likeliest agent all the same)
    confidence: float  # 0..1, calibrated: the probability that this decision (agent or out of scope) is right
    scores: dict[str, float]  # agent slug -> probability; with out_of_scope_probability they sum to 1
    reason: str  # short reason, for operators (diagnostics, not for end users)
    out_of_scope: str | None = None  # a kind from ``scope.KINDS`` when no agent should take the message
    out_of_scope_probability: float = 0.0

    @property
    def in_scope(self) -> bool:
        return self.out_of_scope is None

    def likeliest(self, count: int = 2) -> list[str]:
        """The ``count`` most probable agents, best first."""
        return sorted(self.scores, key=lambda slug: -self.scores[slug])[:count]


def _default_embedder(texts: list[str]) -> np.ndarray:
    from agents.knowledge.embeddings import embed

    return embed(texts)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


class _Tfidf:
    """A fitted TfidfVectorizer (sublinear tf, l2 norm) applied to one text without sklearn's
    per-call overhead: the text's non-zero (indices, values), as ``transform([text])`` would give."""

    def __init__(self, vectorizer) -> None:
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_.astype(np.float64)

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts: dict[int, int] = {}
        for term in self._analyze(text):
            index = self._vocabulary.get(term)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        indices = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        values = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        values *= self._idf[indices]
        norm = np.linalg.norm(values)
        return indices, (values / norm if norm else values)


@dataclass(frozen=True)
class _Weights:
    """One logistic regression's coefficients, split per feature block (rows = features)."""

    bias: np.ndarray
    words: np.ndarray
    chars: np.ndarray
    cues: np.ndarray
    embedding: np.ndarray | None = None


def _fit(features, labels: np.ndarray, blocks: list[int], n_classes: int) -> _Weights:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=REGULARISATION_C, solver="newton-cg", max_iter=1000)
    model.fit(features, labels)
    coef, intercept = model.coef_, model.intercept_
    if n_classes == 2:  # sklearn keeps one row for two classes; expand to two logits
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    edges = np.cumsum([0, *blocks])
    parts = [
        np.ascontiguousarray(coef[:, edges[i] : edges[i + 1]].T, dtype=np.float64) for i in range(len(blocks))
    ]
    if len(parts) == 4:
        embedding, words, chars, cues = parts
    else:
        embedding, (words, chars, cues) = None, parts
    return _Weights(
        bias=intercept.astype(np.float64),
        words=words,
        chars=chars,
        cues=cues * CUE_WEIGHT,
        embedding=embedding,
    )


class Router:
    def __init__(self, profiles: Sequence[AgentProfile], *, embedder: Embedder | None = None) -> None:
        if not profiles:
            raise ValueError("a router needs at least one agent profile")
        slugs = [profile.slug for profile in profiles]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f"duplicate agent slugs: {slugs}")
        self.profiles: tuple[AgentProfile, ...] = tuple(profiles)
        self.slugs: tuple[str, ...] = tuple(slugs)
        self._names = {profile.slug: profile.name for profile in profiles}
        self._embed: Embedder = embedder or _default_embedder

        texts: list[str] = []
        labels: list[int] = []
        is_description: list[bool] = []
        for index, profile in enumerate(self.profiles):
            own = [text.strip() for text in profile.examples if text and text.strip()]
            description = profile.description.strip() or ("" if own else (profile.name or profile.slug))
            texts.extend(own)
            is_description.extend([False] * len(own))
            if description:
                texts.append(description)
                is_description.append(True)
            labels.extend([index] * (len(texts) - len(labels)))
        # Out of scope is learnt as extra classes next to the agents, from general examples.
        self._oos_kinds = tuple(scope.OUT_OF_SCOPE_EXAMPLES)
        for offset, kind in enumerate(self._oos_kinds):
            examples = scope.OUT_OF_SCOPE_EXAMPLES[kind]
            texts.extend(examples)
            is_description.extend([False] * len(examples))
            labels.extend([len(self.profiles) + offset] * len(examples))
        self._texts = texts
        self._labels = np.asarray(labels)
        self._is_description = np.asarray(is_description)

        self._single = len(self.profiles) == 1
        if self._single:  # nothing to decide
            return
        self._example_vectors = self._embed(texts)  # unit rows, for the classifier and for reasons

        from scipy.sparse import csr_matrix, hstack
        from sklearn.feature_extraction.text import TfidfVectorizer

        words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True)
        word_features = words.fit_transform(texts)
        char_features = chars.fit_transform(texts)
        cues = csr_matrix(cue_matrix(texts) * CUE_WEIGHT)
        self._words, self._chars = _Tfidf(words), _Tfidf(chars)
        self._word_examples = word_features.T.tocsr()  # feature x example, for the lexical reason
        lexical_blocks = [word_features.shape[1], char_features.shape[1], CUE_COUNT]
        n_classes = len(self.profiles) + len(self._oos_kinds)
        self._lexical = _fit(
            hstack([word_features, char_features, cues]).tocsr(), self._labels, lexical_blocks, n_classes
        )
        self._full = _fit(
            hstack([csr_matrix(self._example_vectors), word_features, char_features, cues]).tocsr(),
            self._labels,
            [self._example_vectors.shape[1], *lexical_blocks],
            n_classes,
        )

    # -- scoring ---------------------------------------------------------------------------

    @staticmethod
    def _logits(weights: _Weights, words, chars, cues: list[tuple[int, str]]) -> np.ndarray:
        logits = weights.bias + words[1] @ weights.words[words[0]] + chars[1] @ weights.chars[chars[0]]
        if cues:
            logits = logits + weights.cues[[index for index, _ in cues]].sum(axis=0)
        return logits

    def _closest_example(self, index: int, vector: np.ndarray | None, words) -> tuple[str, float] | None:
        own = np.flatnonzero((self._labels == index) & ~self._is_description)
        if not own.size:
            return None
        if vector is not None:
            sims = self._example_vectors[own] @ vector
        else:  # word TF-IDF cosine
            sims = np.asarray(self._word_examples[words[0]].T @ words[1]).ravel()[own]
        best = int(np.argmax(sims))
        return self._texts[int(own[best])], float(sims[best])

    def _reason(self, index: int, probability: float, how: str, closest, cues: list[tuple[int, str]]) -> str:
        slug = self.slugs[index]
        parts = [f"{probability:.2f} for {slug} ({how})"]
        if closest is not None:
            example, similarity = closest
            if len(example) > 60:
                example = example[:57].rstrip() + "..."
            parts.append(f'closest {slug} example "{example}" ({similarity:.2f})')
        cue_words = sorted({word for _, word in cues if len(word) > 2})[:4]
        if cue_words:
            parts.append("cues: " + ", ".join(cue_words))
        return "; ".join(parts)

    def _rule(self, kind: str, reason: str) -> RouteDecision:
        share = round((1 - RULE_CONFIDENCE) / len(self.slugs), 4)
        return RouteDecision(
            agent=self.slugs[0],
            confidence=RULE_CONFIDENCE,
            scores={slug: share for slug in self.slugs},
            reason=reason,
            out_of_scope=kind,
            out_of_scope_probability=RULE_CONFIDENCE,
        )

    def route(self, text: str) -> RouteDecision:
        text = (text or "").strip()
        if not text or scope.is_unintelligible(text):
            return self._rule(scope.UNINTELLIGIBLE, "out of scope: no words to act on")
        kind = scope.formula_kind(text)
        if kind is not None:
            return self._rule(kind, f"out of scope: the whole message is a {kind} formula")
        if self._single:
            return RouteDecision(
                agent=self.slugs[0], confidence=1.0, scores={self.slugs[0]: 1.0}, reason="the only agent"
            )
        words, chars, cues = self._words(text), self._chars(text), matched_cue_indices(text)
        logits = self._logits(self._lexical, words, chars, cues)
        vector, how = None, "wording"
        # The cascade decides on the raw probabilities; the temperature only calibrates what is reported.
        if _softmax(logits).max() < LEXICAL_CONFIDENT:
            vector, how = self._embed([text])[0].astype(np.float64), "meaning and wording"
            logits = self._logits(self._full, words, chars, cues) + vector @ self._full.embedding
        probabilities = _softmax(logits / TEMPERATURE)
        n_agents = len(self.slugs)
        agent_probabilities, oos_probabilities = probabilities[:n_agents], probabilities[n_agents:]
        index = int(np.argmax(agent_probabilities))
        oos = float(oos_probabilities.sum())
        scores = {slug: round(float(p), 4) for slug, p in zip(self.slugs, agent_probabilities, strict=True)}
        if oos >= OUT_OF_SCOPE_MIN:
            kind = self._oos_kinds[int(np.argmax(oos_probabilities))]
            return RouteDecision(
                agent=self.slugs[index],
                confidence=round(oos, 4),
                scores=scores,
                reason=f"out of scope ({kind}, {oos:.2f}, {how}); likeliest agent {self.slugs[index]} "
                f"({float(agent_probabilities[index]):.2f})",
                out_of_scope=kind,
                out_of_scope_probability=round(oos, 4),
            )
        confidence = float(agent_probabilities[index])
        return RouteDecision(
            agent=self.slugs[index],
            confidence=round(confidence, 4),
            scores=scores,
            reason=self._reason(index, confidence, how, self._closest_example(index, vector, words), cues),
            out_of_scope_probability=round(oos, 4),
        )

    @staticmethod
    def is_follow_up(text: str) -> bool:
        """Only makes sense against the conversation so far ("ok do that", "what about the second one?")."""
        return _is_follow_up((text or "").strip())

    def detect_shift(
        self, text: str, current: str, *, decision: RouteDecision | None = None
    ) -> RouteDecision | None:
        """For a later message in a conversation handled by `current`: a decision naming another
        agent when the intent clearly moved there (with a reason suitable to record for a handoff),
        None when `current` should keep the conversation. Conservative: short follow-ups such as
        "thanks", "ok do that", "what about the second one?" keep the current agent. ``decision``:
        this text's ``route()`` when the caller already has it (saves routing twice)."""
        text = (text or "").strip()
        if self._single or not text or _is_follow_up(text):
            return None
        decision = decision or self.route(text)
        if not decision.in_scope or decision.agent == current:
            return None
        current_score = decision.scores.get(current, 0.0)
        if decision.confidence < SHIFT_MIN_CONFIDENCE:
            return None
        if decision.confidence - current_score < SHIFT_MIN_MARGIN:
            return None
        origin = self._names.get(current, current)
        target = self._names.get(decision.agent, decision.agent)
        reason = (
            f"intent moved from {origin} to {target} ({current_score:.2f} -> {decision.confidence:.2f}); "
            + decision.reason
        )
        return RouteDecision(
            agent=decision.agent, confidence=decision.confidence, scores=decision.scores, reason=reason
        )


def _is_follow_up(text: str) -> bool:
    """A message that only makes sense against the conversation so far, so it stays put."""
    rest = text
    while True:  # "ok, great, thanks." -> ""
        stripped = _ACKNOWLEDGEMENT.sub("", rest, count=1)
        if stripped == rest:
            break
        rest = stripped
    words = [word.lower() for word in _WORD.findall(rest)]
    if len(words) < SHIFT_MIN_WORDS:
        return True
    content = [word for word in words if word not in _DEICTIC]
    if len(content) < 2:
        return True
    if len(words) <= 5 and _PRONOUNS.intersection(words):  # "is that the best approach?"
        return True
    return len(words) <= 8 and bool(_FOLLOW_UP.match(rest))


# -- a small cache of routers, keyed on the profiles' content ---------------------------------

_CACHE_SIZE = 8
_cache: OrderedDict[tuple[AgentProfile, ...], Router] = OrderedDict()
_cache_lock = threading.Lock()


def router_for_profiles(profiles: Sequence[AgentProfile]) -> Router:
    """A router for these profiles, reused while their content (slugs, texts, order) is unchanged."""
    key = tuple(
        AgentProfile(slug=p.slug, name=p.name, description=p.description, examples=tuple(p.examples))
        for p in profiles
    )
    with _cache_lock:
        router = _cache.get(key)
        if router is not None:
            _cache.move_to_end(key)
            return router
    router = Router(list(key))  # built outside the lock: training takes a moment
    with _cache_lock:
        _cache[key] = router
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return router


def router_cache_clear() -> None:
    with _cache_lock:
        _cache.clear()
