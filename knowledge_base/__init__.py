"""Knowledge base: in-memory hybrid search over question/answer entries."""

from knowledge_base.search import Hit, KnowledgeEntry, RankingWeights, SearchIndex

__all__ = ["Hit", "KnowledgeEntry", "RankingWeights", "SearchIndex"]
