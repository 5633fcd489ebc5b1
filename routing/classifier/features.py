"""Feature extraction: preprocessing step and TF-IDF blocks over the preprocessed text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from routing.classifier.preprocess import MAX_CHARS, preprocess

MIN_DOCUMENT_FREQUENCY = 2
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (1, 3)
# The title comes first and names the matter; its words and its characters get feature blocks of
# their own. The weights were chosen by 5-fold cross-validation on the public training file
# (macro-F1 0.927 without the title's characters, 0.931 with them; see docs/PERFORMANCE.md).
HEAD_TOKENS = 10
HEAD_WEIGHT = 0.3
HEAD_CHARS_WEIGHT = 0.8


def remove_spaces(text: str) -> str:
    """Join the tokens of a preprocessed text so character n-grams ignore segmentation."""
    return text.replace(" ", "")


def head_of(text: str) -> str:
    """Return the first words of a preprocessed text (where the title is)."""
    return " ".join(text.split()[:HEAD_TOKENS])


class TextPreprocessor(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Stateless pipeline step mapping raw or segmented texts to token strings."""

    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        self.max_chars = max_chars

    def fit(self, texts: Iterable[str], labels: Any = None) -> TextPreprocessor:
        """Do nothing: preprocessing has no learned state."""
        return self

    def transform(self, texts: Iterable[str]) -> list[str]:
        """Preprocess every text."""
        return [preprocess(text, self.max_chars) for text in texts]

    def __sklearn_is_fitted__(self) -> bool:
        """Report fitted: there is nothing to learn."""
        return True


def head_chars_of(text: str) -> str:
    """Return the first words of a preprocessed text joined, for character n-grams of the title."""
    return remove_spaces(head_of(text))


def _char_vectorizer(preprocessor: Any) -> TfidfVectorizer:
    """Return a TF-IDF vectorizer over character n-grams of the preprocessed text."""
    return TfidfVectorizer(
        analyzer="char",
        ngram_range=CHAR_NGRAMS,
        lowercase=False,
        sublinear_tf=True,
        min_df=MIN_DOCUMENT_FREQUENCY,
        preprocessor=preprocessor,
    )


def _word_vectorizer(ngrams: tuple[int, int], preprocessor: Any = None) -> TfidfVectorizer:
    """Return a TF-IDF vectorizer over space-separated tokens."""
    return TfidfVectorizer(
        analyzer="word",
        token_pattern=r"\S+",
        ngram_range=ngrams,
        lowercase=False,
        sublinear_tf=True,
        min_df=MIN_DOCUMENT_FREQUENCY,
        preprocessor=preprocessor,
    )


def build_features() -> FeatureUnion:
    """Return the feature union over preprocessed text: words, characters, title words and title characters."""
    return FeatureUnion(
        [
            ("words", _word_vectorizer(WORD_NGRAMS)),
            ("chars", _char_vectorizer(remove_spaces)),
            ("head", _word_vectorizer((1, 1), preprocessor=head_of)),
            ("head_chars", _char_vectorizer(head_chars_of)),
        ],
        transformer_weights={"words": 1.0, "chars": 1.0, "head": HEAD_WEIGHT, "head_chars": HEAD_CHARS_WEIGHT},
    )
