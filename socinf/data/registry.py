"""Pinned corpus files: name, SHA-256 and a commit-pinned public download URL.

URLs point at raw.githubusercontent.com at a fixed commit (never a branch), so
the bytes behind a URL cannot change; the SHA-256 is still checked on every
download and load. Hashes and paths come from each folder's PROVENANCE.md in
the shared data directory.
"""
from __future__ import annotations

from dataclasses import dataclass

from socinf.errors import SocinfError

_RAW = "https://raw.githubusercontent.com"
_SEERNET = f"{_RAW}/SEERNET/EmoInt/e73ca6ef117d9f5a7738d47d6d91de0a88e5b03e/emoint/resources/emoint"
_BRAVO = f"{_RAW}/felipebravom/EmoInt/6fe072605324e8a90edf64294ee9774c0d8669ab/codalab/test_data"
_ZHUSLEEP = f"{_RAW}/zhusleep/weibo_sentiment_analysis/ef00d514542d30dbc307d13478919e5333903eb6/2020_SMP_raw_data"
_BROWN = f"{_RAW}/BrownSweater/BERT_SMP2020-EWECT/e928cec001824668999ed02326aacbea0d369563/data/raw"
_CLUE = f"{_RAW}/CLUEbenchmark/CLUEmotionAnalysis2020/ff1bc945fc3a5854e0013de5a2f222dd1da61516/CLUEdataset/emotion"


@dataclass(frozen=True)
class PinnedFile:
    name: str  # file name on disk (the official name; may differ from the URL's)
    sha256: str
    url: str
    size: int  # bytes: a download stops here (a mirror that never ends cannot fill the data home)


@dataclass(frozen=True)
class CorpusFiles:
    corpus: str  # config name: tweet / weibo / clue
    folder: str  # folder name inside a shared data dir (data.dir / SOCINF_DATA_DIR)
    files: tuple[PinnedFile, ...]

    def file(self, name: str) -> PinnedFile:
        return next(f for f in self.files if f.name == name)


EMOTIONS = ("anger", "fear", "joy", "sadness")

_EMOINT = {  # name: (SHA-256, bytes)
    "anger-ratings-0to1.train.txt": ("6fcfb170a804f93cb737713eeac3bb4528a9dc426d183691ad02673ccd4530e8", 95686),
    "anger-ratings-0to1.dev.gold.txt": ("40f858d3f3391f77080fe428131d876b1f7472e9166c85045532ef11daf268dc", 9687),
    "anger-ratings-0to1.test.gold.txt": ("fdc68746155171f92e93c497f854ebe59ea32f633cda36328037aafbd23414d0", 87266),
    "fear-ratings-0to1.train.txt": ("401cc28cd9e0bbbb1cfc88847d63ada0a83a388f853abe14fc153407956c80bc", 133186),
    "fear-ratings-0to1.dev.gold.txt": ("3d65116e8044ae94e66751f604b56ddc26a761b8ded1b01b2364a0df30647e8f", 12903),
    "fear-ratings-0to1.test.gold.txt": ("88eb995fcd945b27129a04ad8db7443f2cab8972e3cdb6fbb8ef3d9f4fec7472", 114255),
    "joy-ratings-0to1.train.txt": ("d34cdae6a142541b874924ff4f998e14b7175e18e3235b7a5a5ace132f569c16", 92266),
    "joy-ratings-0to1.dev.gold.txt": ("2049eaaeb1198d683cfe84d5cc547a86c354d6dc0737ca1af3a36257aa3ce886", 8744),
    "joy-ratings-0to1.test.gold.txt": ("8ced82a72457357e2099757f4cd622c8fb25668c0a5fd550a950a9a3fc069c7b", 80025),
    "sadness-ratings-0to1.train.txt": ("9bb74c8c9b2c80a5555ac7c410176106db5cbf4ba84be3c6911cd24e0b7d2e04", 92977),
    "sadness-ratings-0to1.dev.gold.txt": ("e500c5b97af7a82272bc204960c36d774723b910123a162924f95ec8fc54222d", 9043),
    "sadness-ratings-0to1.test.gold.txt": ("bc98d3eac67bf1c1aeb591daef08c95e4ceb13e9f65ccdd07303e2ddcc0d4d70", 78906),
}


def _emoint_url(name: str) -> str:
    emotion, _, rest = name.partition("-ratings-0to1.")
    if rest == "test.gold.txt":
        # The organisers' repo keeps test gold under a shorter name; we save it
        # under the official download name so both sources look alike on disk.
        return f"{_BRAVO}/{emotion}-gold.txt"
    return f"{_SEERNET}/{name}"


def _emoint() -> CorpusFiles:
    files = tuple(PinnedFile(n, h, _emoint_url(n), size) for n, (h, size) in _EMOINT.items())
    return CorpusFiles("tweet", "emoint", files)


def _weibo() -> CorpusFiles:
    files = (
        PinnedFile("usual_train.xlsx", "cb8c715468963c243db4f6a4f3043b764dfc42f820b6fce3eea24e81fce3e61e",
                   f"{_ZHUSLEEP}/usual_train.xlsx", 4150272),
        PinnedFile("usual_eval_labeled.txt", "ec4264647d679f3c6b0cb3d5a4438554234d0c606631aab7456a0824c0ff5a69",
                   f"{_BROWN}/usual_eval_labeled.txt", 339867),
        PinnedFile("usual_test_labeled.txt", "bfaec6756200d660ed683de1de42dfd61e5fb97e93167838b9a24f2a526c822e",
                   f"{_BROWN}/usual_test_labeled.txt", 856990),
        PinnedFile("virus_train.txt", "1962fac5476da80a344c0b96bf091b92d5cd265c4989f84a4cc872ec9e8df9cf",
                   f"{_BROWN}/virus_train.txt", 1618311),
        PinnedFile("virus_eval_labeled.txt", "a60dd95652fb939db762735f5083d66120fbf494d4c1267f24065256c40f3476",
                   f"{_BROWN}/virus_eval_labeled.txt", 383682),
        PinnedFile("virus_test_labeled.txt", "39baab996f18c62c6b6e81191dc9c3b75b334547cf28124ccd55a199be24bc70",
                   f"{_BROWN}/virus_test_labeled.txt", 552176),
    )
    return CorpusFiles("weibo", "weibo-smp2020-ewect", files)


def _clue() -> CorpusFiles:
    files = (
        PinnedFile("valid.txt", "a644591424f4c9798c9f61f3bfde18faa7da0f91ac02ce3f4406c9b6ecde85c2",
                   f"{_CLUE}/valid.txt", 733317),
        PinnedFile("test.txt", "651457927a6130006380d9596bae398f372b749b3820af017231b7ead0dd9324",
                   f"{_CLUE}/test.txt", 717658),
    )
    return CorpusFiles("clue", "clue-emotion", files)


REGISTRY: dict[str, CorpusFiles] = {c.corpus: c for c in (_emoint(), _weibo(), _clue())}


def corpus_files(corpus: str) -> CorpusFiles:
    """The pinned file table of ``corpus``; unknown names raise a one-line error."""
    try:
        return REGISTRY[corpus]
    except KeyError:
        raise SocinfError(
            f"dataset.name={corpus!r}: no pinned files; downloadable corpora are {', '.join(REGISTRY)}"
        ) from None
