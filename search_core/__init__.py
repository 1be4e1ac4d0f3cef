"""Visual search engine: catalogs, encoders, contrastive training, Faiss indexes, re-ranking, evaluation."""
