"""Errors raised by `search_core`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `SearchCoreError` into a one-line message and exit code 2.
"""


class SearchCoreError(Exception):
    """Base of every expected error raised by `search_core`."""


# --- catalogs, images, click pairs, encoders, training ------------------------------------------------------------


class CatalogError(SearchCoreError, ValueError):
    """A catalog that cannot be loaded: unknown spec, missing or corrupt dataset files, a folder without images."""


class UnknownImageError(SearchCoreError, LookupError):
    """An image id that is not in the catalog."""


class InvalidImageError(SearchCoreError, ValueError):
    """Bytes or a file that are not a decodable image (not an image, truncated, corrupt, unsupported format)."""


class UnknownClassError(SearchCoreError, LookupError):
    """A class name that is not one of the catalog's classes (labels of added images)."""


class ImageConflictError(SearchCoreError, ValueError):
    """An image added under an id the catalog already holds with other pixels (ids are permanent)."""


class ImageTooLargeError(SearchCoreError, ValueError):
    """An image over the byte or pixel limit; the pixel check runs before decoding (decompression bombs)."""


class PairsFileError(SearchCoreError, ValueError):
    """A click-pairs file that is missing, unreadable, lacks a required column or has an invalid row."""


class UnknownEncoderError(SearchCoreError, LookupError):
    """An encoder architecture name that is not in `ENCODERS`."""


class EncoderConfigError(SearchCoreError, ValueError):
    """Encoder arguments the architecture cannot take (input size, channels, dimension)."""


class WeightsFileError(SearchCoreError, ValueError):
    """A pretrained-weights file that is missing, unreadable or does not fit the architecture."""


class TrainingError(SearchCoreError, ValueError):
    """A training request that cannot run: unknown config, incompatible parent encoder, no usable images."""


# --- indexes, re-ranking, metrics, evaluation ---------------------------------------------------------------------


class DimensionMismatchError(SearchCoreError, ValueError):
    """Vectors (or an encoder) of one dimension met an index of another."""


class InvalidFactoryError(SearchCoreError, ValueError):
    """Faiss does not understand a factory string (or it needs an L2 metric we do not use)."""


class IndexBuildError(SearchCoreError, ValueError):
    """An index could not be trained or filled, e.g. fewer training vectors than IVF lists."""


class IndexInputError(SearchCoreError, ValueError):
    """Ids and vectors that cannot go into an index: wrong shape; duplicate, blank, over-long ids, whitespace, NUL."""


class IndexUpdateError(SearchCoreError, ValueError):
    """A catalog update an index cannot take: nothing to do, an index that is not the newest of its lineage."""


class UnknownIndexItemError(SearchCoreError, LookupError):
    """An image id that is not (or no longer) in the index."""


class InvalidSearchParamsError(SearchCoreError, ValueError):
    """A query-time parameter the index does not have (e.g. `efSearch` on an IVF index) or a bad value."""


class ReadOnlyIndexError(SearchCoreError, RuntimeError):
    """A write to an index loaded memory-mapped; Faiss aborts the process on such writes, so we refuse them."""


class IndexBackendError(SearchCoreError, RuntimeError):
    """The service behind an index backend (Milvus) failed or cannot be reached."""


class CorruptIndexError(SearchCoreError, ValueError):
    """Index files that Faiss or numpy cannot read, or that disagree with each other."""


class UnknownRerankStepError(SearchCoreError, LookupError):
    """A re-ranking step name that is not in `RERANK_STEPS`."""


class RerankSpecError(SearchCoreError, ValueError):
    """A re-ranking step with an unknown or invalid parameter."""


class EvaluationError(SearchCoreError, ValueError):
    """An evaluation that cannot run: e.g. a catalog without the (labelled) split it needs."""


class UnknownMetricError(SearchCoreError, LookupError):
    """A metric name that is not in `METRICS` (or lacks a required `@k`)."""


class TrecFormatError(SearchCoreError, ValueError):
    """A TREC qrels or run file with a malformed line or a duplicate document."""


class InterleavingInputError(SearchCoreError, ValueError):
    """Arguments team-draft interleaving cannot use: a negative or non-integer k, a seed that is not text or bytes."""
