"""Reference ranker for benchmarks: plain character TF-IDF over the questions, cosine similarity."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from knowledge_base.search import DEFAULT_LIMIT, Hit, KnowledgeEntry

BASELINE_NGRAMS = (1, 2)


class CharTfidfIndex:
    """Static char 1-2-gram TF-IDF index over entry questions; only for comparison with SearchIndex."""

    def __init__(self, entries: Iterable[KnowledgeEntry]) -> None:
        self._entries = list(entries)
        self._vectorizer = TfidfVectorizer(analyzer="char", ngram_range=BASELINE_NGRAMS)
        self._matrix = self._vectorizer.fit_transform(entry.question for entry in self._entries)

    def search(self, query: str, limit: int = DEFAULT_LIMIT) -> list[Hit]:
        """Return the entries whose questions are most similar to the query, best first."""
        similarities = (self._matrix @ self._vectorizer.transform([query]).T).toarray().ravel()
        order = np.argsort(-similarities, kind="stable")[:limit]
        return [
            Hit(self._entries[i].id, float(similarities[i]), self._entries[i].question)
            for i in order
            if similarities[i] > 0
        ]
